package domain

import (
	"fmt"
	"math"

	"go.yaml.in/yaml/v3"
)

// maxYAMLNodes bounds the values one document may expand to, so that
// aliases cannot multiply a small file into a huge one.
const maxYAMLNodes = 100_000

// decodeYAML turns a YAML document into JSON values (map[string]any,
// []any, string, bool, int, float64, nil). Timestamps stay the text they
// were written as; keys must be unique scalars.
func decodeYAML(data []byte) (any, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	d := yamlDecoder{}
	return d.value(&root)
}

type yamlDecoder struct{ nodes int }

func (d *yamlDecoder) value(n *yaml.Node) (any, error) {
	d.nodes++
	if d.nodes > maxYAMLNodes {
		return nil, fmt.Errorf("line %d: document expands to more than %d values", n.Line, maxYAMLNodes)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return d.value(n.Content[0])
	case yaml.AliasNode:
		return d.value(n.Alias)
	case yaml.MappingNode:
		return d.mapping(n)
	case yaml.SequenceNode:
		return d.sequence(n)
	default:
		return scalar(n)
	}
}

func (d *yamlDecoder) mapping(n *yaml.Node) (any, error) {
	out := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: mapping key must be a scalar", k.Line)
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("line %d: key %q is defined twice", k.Line, k.Value)
		}
		v, err := d.value(n.Content[i+1])
		if err != nil {
			return nil, err
		}
		out[k.Value] = v
	}
	return out, nil
}

func (d *yamlDecoder) sequence(n *yaml.Node) (any, error) {
	out := make([]any, 0, len(n.Content))
	for _, c := range n.Content {
		v, err := d.value(c)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!timestamp", "!!binary":
		return n.Value, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("line %d: %s is not a JSON number", n.Line, n.Value)
		}
		return f, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("line %d: %w", n.Line, err)
	}
	return v, nil
}
