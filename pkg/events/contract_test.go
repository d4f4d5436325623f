package events_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
)

// node is the part of a JSON Schema that a Go type must agree with.
type node struct {
	Type       any             `json:"type"`
	Format     string          `json:"format"`
	Minimum    *float64        `json:"minimum"`
	Required   []string        `json:"required"`
	Properties map[string]node `json:"properties"`
	Items      *node           `json:"items"`
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
)

// mismatches lists every way goType disagrees with schemaJSON, the schema
// of eventType: property names, required ⇔ no omitempty, and JSON kinds,
// through nested structs and slices. None means they agree.
func mismatches(eventType string, goType reflect.Type, schemaJSON []byte) []string {
	var root node
	if err := json.Unmarshal(schemaJSON, &root); err != nil {
		return []string{fmt.Sprintf("%s: schema is not JSON: %v", eventType, err)}
	}
	c := checker{eventType: eventType}
	c.value("", goType, root)
	return c.problems
}

type checker struct {
	eventType string
	problems  []string
}

func (c *checker) addf(field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if field == "" {
		c.problems = append(c.problems, fmt.Sprintf("%s: %s", c.eventType, msg))
		return
	}
	c.problems = append(c.problems, fmt.Sprintf("%s: field %s: %s", c.eventType, field, msg))
}

// value checks that Go type t, found at field, is encoded as schema s wants.
func (c *checker) value(field string, t reflect.Type, s node) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	want, format := jsonKind(t)
	switch {
	case want == "":
		c.addf(field, "Go type %s has no JSON kind this check knows (unsupported kind or own json.Marshaler)", t)
	case s.Type != want:
		c.addf(field, "Go type %s is JSON %q, schema type is %s", t, want, jsonText(s.Type))
	case format == "date-time" && s.Format != "date-time":
		c.addf(field, `Go type %s needs schema format "date-time", schema has %q`, t, s.Format)
	case s.Format == "date-time" && format != "date-time":
		c.addf(field, "schema format date-time needs Go type time.Time, Go type is %s", t)
	case isUnsigned(t) && (s.Minimum == nil || *s.Minimum < 0):
		c.addf(field, `Go type %s cannot hold the negative integers the schema allows: add "minimum": 0`, t)
	case want == "object" && t.Kind() == reflect.Struct:
		c.object(field, t, s)
	case want == "array" && s.Items != nil:
		c.value(field+"[]", t.Elem(), *s.Items)
	}
}

// object checks a struct's JSON fields against the schema's properties.
func (c *checker) object(field string, t reflect.Type, s node) {
	fields := jsonFields(t)
	required := map[string]bool{}
	for _, name := range s.Required {
		required[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		f := fields[name]
		path := strings.TrimPrefix(field+"."+name, ".")
		prop, ok := s.Properties[name]
		switch {
		case f.embedded:
			c.addf(path, "embedded Go field %s is not supported by this check", f.goName)
		case !ok:
			c.addf(path, "Go field %s.%s is not in the schema's properties", t.Name(), f.goName)
		case required[name] && f.omitEmpty:
			c.addf(path, "schema requires it, but Go field %s.%s has omitempty", t.Name(), f.goName)
		case !required[name] && !f.omitEmpty:
			c.addf(path, "schema makes it optional, so Go field %s.%s needs omitempty", t.Name(), f.goName)
		default:
			c.value(path, f.typ, prop)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		if _, ok := fields[name]; !ok {
			c.addf(strings.TrimPrefix(field+"."+name, "."), "schema property has no field in Go type %s", t.Name())
		}
	}
}

type goField struct {
	goName    string
	typ       reflect.Type
	omitEmpty bool
	embedded  bool
}

// jsonFields are the fields encoding/json writes, by JSON name.
func jsonFields(t reflect.Type) map[string]goField {
	out := map[string]goField{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if !f.IsExported() && !f.Anonymous || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		omit := slices.ContainsFunc(strings.Split(opts, ","), func(o string) bool {
			return o == "omitempty" || o == "omitzero"
		})
		out[name] = goField{goName: f.Name, typ: f.Type, omitEmpty: omit, embedded: f.Anonymous}
	}
	return out
}

// jsonKind is the JSON Schema type (and format) encoding/json gives t.
func jsonKind(t reflect.Type) (typ, format string) {
	switch {
	case t == timeType:
		return "string", "date-time"
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType):
		return "", "" // its JSON shape is its own business
	}
	switch t.Kind() {
	case reflect.String:
		return "string", ""
	case reflect.Bool:
		return "boolean", ""
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer", ""
	case reflect.Float32, reflect.Float64:
		return "number", ""
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string", "" // base64
		}
		return "array", ""
	case reflect.Map, reflect.Struct:
		return "object", ""
	}
	return "", ""
}

func isUnsigned(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
