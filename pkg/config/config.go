// Package config loads a service's typed configuration from environment
// variables and validates it, so that every problem is reported once, at
// start, naming the variable to fix.
//
// A configuration is a struct with caarlos0/env tags:
//
//	type Config struct {
//		Addr    string        `env:"PAVE_HTTP_ADDR" envDefault:":8080"`
//		Timeout time.Duration `env:"PAVE_HTTP_SHUTDOWN_TIMEOUT" envDefault:"15s"`
//	}
//
//	func (c Config) Validate() error {
//		if c.Timeout <= 0 {
//			return config.Invalid("PAVE_HTTP_SHUTDOWN_TIMEOUT", "must be > 0")
//		}
//		return nil
//	}
//
// Load visits the struct and every nested struct and calls each Validate it
// finds, so a Validate method checks only its own fields.
package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// Validator is implemented by configuration structs that check their values
// after parsing.
type Validator interface {
	Validate() error
}

// FieldError is a problem with one environment variable.
type FieldError struct {
	Var     string // the environment variable, e.g. PAVE_HTTP_ADDR
	Problem string // what is wrong with it, e.g. `"abc" is not host:port`
	Err     error  // the underlying error, if any
}

func (e *FieldError) Error() string {
	return "config: " + e.Var + ": " + e.Problem
}

func (e *FieldError) Unwrap() error { return e.Err }

// Invalid reports that the variable name has a problem. Validate methods
// return it, or several joined with errors.Join.
func Invalid(name, problem string) error {
	return &FieldError{Var: name, Problem: problem}
}

// Invalidf is Invalid with a formatted problem.
func Invalidf(name, format string, args ...any) error {
	return &FieldError{Var: name, Problem: fmt.Sprintf(format, args...)}
}

// Load fills cfg, a pointer to a struct, from the process environment, then
// validates it.
func Load(cfg any) error {
	return LoadFrom(cfg, env.ToMap(os.Environ()))
}

// LoadFrom is Load reading the variables from environ instead of the process
// environment. Tests use it.
func LoadFrom(cfg any, environ map[string]string) error {
	if environ == nil {
		environ = map[string]string{}
	}
	root := reflect.ValueOf(cfg)
	if root.Kind() != reflect.Pointer || root.IsNil() || root.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("config: load needs a non-nil pointer to a struct, got %T", cfg)
	}
	if err := env.ParseWithOptions(cfg, env.Options{Environment: environ}); err != nil {
		return parseErrors(root.Elem(), environ, err)
	}
	return validateTree(root.Elem())
}

// parseErrors rewrites env's errors so each names its variable.
func parseErrors(root reflect.Value, environ map[string]string, err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("config: %w", err)
	}
	var errs []error
	rechecked := false
	for _, e := range agg.Errors {
		if !isFieldNamed(e) {
			errs = append(errs, keyed(e))
			continue
		}
		// env names a value that does not parse by Go field name only, which
		// is ambiguous across nested structs: parse each field on its own
		// to find the variables at fault.
		if !rechecked {
			rechecked = true
			found := recheck(root, environ, "")
			if len(found) == 0 {
				found = []error{fmt.Errorf("config: %w", err)}
			}
			errs = append(errs, found...)
		}
	}
	return errors.Join(errs...)
}

func isFieldNamed(err error) bool {
	var (
		parse    env.ParseError
		noParser env.NoParserError
	)
	return errors.As(err, &parse) || errors.As(err, &noParser)
}

// keyed turns an env error that carries its variable into a FieldError.
func keyed(err error) error {
	var (
		notSet env.VarIsNotSetError
		empty  env.EmptyVarError
		file   env.LoadFileContentError
	)
	switch {
	case errors.As(err, &notSet):
		return &FieldError{Var: notSet.Key, Problem: "is required but not set", Err: err}
	case errors.As(err, &empty):
		return &FieldError{Var: empty.Key, Problem: "must not be empty", Err: err}
	case errors.As(err, &file):
		return &FieldError{Var: file.Key, Problem: fmt.Sprintf("read file %q: %v", file.Filename, file.Err), Err: err}
	default:
		return fmt.Errorf("config: %w", err)
	}
}

// recheck parses every field of v that names a variable into a one-field
// struct with the same type and tag, and reports those that fail.
func recheck(v reflect.Value, environ map[string]string, prefix string) []error {
	var errs []error
	t := v.Type()
	for i := range t.NumField() {
		sf, fv := t.Field(i), v.Field(i)
		if !sf.IsExported() {
			continue
		}
		key, _, _ := strings.Cut(sf.Tag.Get("env"), ",")
		if key == "-" {
			continue
		}
		if key != "" {
			if err := parseOne(sf, environ, prefix); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		nested := prefix + sf.Tag.Get("envPrefix")
		switch {
		case fv.Kind() == reflect.Struct:
			errs = append(errs, recheck(fv, environ, nested)...)
		case fv.Kind() == reflect.Pointer && !fv.IsNil() && fv.Elem().Kind() == reflect.Struct:
			errs = append(errs, recheck(fv.Elem(), environ, nested)...)
		}
	}
	return errs
}

func parseOne(sf reflect.StructField, environ map[string]string, prefix string) error {
	one := reflect.StructOf([]reflect.StructField{{Name: "V", Type: sf.Type, Tag: sf.Tag}})
	err := env.ParseWithOptions(reflect.New(one).Interface(), env.Options{Environment: environ, Prefix: prefix})
	if err == nil {
		return nil
	}
	key, _, _ := strings.Cut(sf.Tag.Get("env"), ",")
	var (
		parse    env.ParseError
		noParser env.NoParserError
		value    env.ParseValueError
	)
	switch {
	case errors.As(err, &parse) && errors.As(parse.Err, &value):
		// env prefixes the parser's error with "unable to parse ...".
		return &FieldError{Var: prefix + key, Problem: value.Err.Error(), Err: value.Err}
	case errors.As(err, &parse):
		return &FieldError{Var: prefix + key, Problem: parse.Err.Error(), Err: parse.Err}
	case errors.As(err, &noParser):
		return &FieldError{Var: prefix + key, Problem: fmt.Sprintf("no parser for type %s", sf.Type), Err: err}
	default:
		return nil // reported by the full parse, with its variable
	}
}

// validateTree calls Validate on v and on every nested struct, and joins
// what they report.
func validateTree(v reflect.Value) error {
	var errs []error
	if val, ok := v.Addr().Interface().(Validator); ok {
		if err := val.Validate(); err != nil {
			errs = append(errs, prefixed(err)...)
		}
	}
	t := v.Type()
	for i := range t.NumField() {
		fv := v.Field(i)
		if !t.Field(i).IsExported() {
			continue
		}
		switch {
		case fv.Kind() == reflect.Struct:
			errs = append(errs, validateTree(fv))
		case fv.Kind() == reflect.Pointer && !fv.IsNil() && fv.Elem().Kind() == reflect.Struct:
			errs = append(errs, validateTree(fv.Elem()))
		}
	}
	return errors.Join(errs...)
}

// prefixed flattens joined errors and makes each start with "config:".
func prefixed(err error) []error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, prefixed(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []error{err}
	}
	return []error{fmt.Errorf("config: %w", err)}
}
