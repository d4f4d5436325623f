package events

// provisioningTypes are the commands and events of the provisioning service.
func provisioningTypes() map[string]any {
	return map[string]any{}
}
