package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ResolvedParams are an environment's parameters: what the request gave,
// defaults filled in, validated against the template's schema. Values are
// JSON values; numbers are json.Number, so they keep their exact text.
type ResolvedParams map[string]any

// normalize copies caller-supplied parameters into JSON values, so that
// []string, int and friends validate like the JSON they stand for.
func normalize(given map[string]any) (ResolvedParams, error) {
	out := ResolvedParams{}
	if len(given) == 0 {
		return out, nil
	}
	raw, err := json.Marshal(given)
	if err != nil {
		return nil, fmt.Errorf("not representable as JSON: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("not representable as JSON: %w", err)
	}
	return out, nil
}

// cloneJSON deep-copies a JSON value, so that callers cannot reach into
// a template's defaults or an environment's parameters.
func cloneJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = cloneJSON(e)
		}
		return out
	case ResolvedParams:
		return ResolvedParams(cloneJSON(map[string]any(x)).(map[string]any))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneJSON(e)
		}
		return out
	default:
		return x
	}
}

// Clone returns a deep copy.
func (p ResolvedParams) Clone() ResolvedParams {
	if p == nil {
		return nil
	}
	return cloneJSON(p).(ResolvedParams)
}

// UnmarshalJSON keeps numbers as json.Number, so that a stored
// environment reads back with exactly the parameters it was given.
func (p *ResolvedParams) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("decode parameters: %w", err)
	}
	*p = m
	return nil
}
