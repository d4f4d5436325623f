package main

import (
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/logfx"
	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/otelfx"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/pkg/redisfx"
	"github.com/pave-platform/pave/services/access"
	"github.com/pave-platform/pave/services/cost"
	"github.com/pave-platform/pave/services/gateway"
	"github.com/pave-platform/pave/services/lifecycle"
	"github.com/pave-platform/pave/services/provisioning"
	"github.com/pave-platform/pave/services/scheduler"
	"github.com/pave-platform/pave/services/scheduler/runner"
)

// operationsDoc is the operator documentation every setting must be in.
const operationsDoc = "../../docs/operations.md"

// configStructs are every configuration struct read from the environment.
var configStructs = []any{
	natsfx.Config{},
	httpfx.Config{},
	logfx.Config{},
	otelfx.Config{},
	redisfx.Config{},
	platformfx.StreamConfig{},
	platformfx.FillConfig{},
	access.Config{},
	cost.Config{},
	gateway.Config{},
	lifecycle.Config{},
	provisioning.Config{},
	scheduler.Config{},
	runner.Config{},
}

// devOnlyVariables are read with os.Getenv by `pave dev`, outside any
// config struct.
var devOnlyVariables = []string{"PAVE_DEV_POSTGRES_PORT", "PAVE_DEV_REDIS_PORT", "PAVE_SERVER", "PAVE_TOKEN", "PAVE_CONFIG", "PAVE_OUTPUT"}

// envNames collects the env tags of t's fields, recursing into nested
// structs (also through pointers).
func envNames(t reflect.Type, into map[string]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for f := range t.Fields() {
		if tag, ok := f.Tag.Lookup("env"); ok {
			if name, _, _ := strings.Cut(tag, ","); name != "" {
				into[name] = t.String() + "." + f.Name
			}
		}
		envNames(f.Type, into)
	}
}

func TestConfigDocMentionsEveryVariable(t *testing.T) {
	raw, err := os.ReadFile(operationsDoc)
	if err != nil {
		t.Fatalf("read %s: %v", operationsDoc, err)
	}
	doc := string(raw)

	vars := map[string]string{}
	for _, c := range configStructs {
		envNames(reflect.TypeOf(c), vars)
	}
	if len(vars) == 0 {
		t.Fatal("no env tags found in the config structs")
	}
	for _, name := range devOnlyVariables {
		vars[name] = "cmd/pave (dev only)"
	}

	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("%s does not mention `%s` (%s)", operationsDoc, name, vars[name])
		}
	}
}
