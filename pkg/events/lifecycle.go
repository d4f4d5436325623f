package events

// lifecycleTypes are the commands and events of the lifecycle service.
func lifecycleTypes() map[string]any {
	return map[string]any{}
}
