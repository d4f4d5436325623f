package domain

import "sort"

// Vector is a quantity per resource name: cpu in millicores, memory in MiB,
// ops in concurrent operations, and so on.
type Vector map[string]int64

// Clone returns an independent copy.
func (v Vector) Clone() Vector {
	out := make(Vector, len(v))
	for k, q := range v {
		out[k] = q
	}
	return out
}

// Names returns the resource names in sorted order, so that errors and
// reasons are deterministic.
func (v Vector) Names() []string {
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// validate rejects negative quantities and, when nonEmpty, a vector that
// asks for nothing at all.
func (v Vector) validate(field string, nonEmpty bool) error {
	total := int64(0)
	for _, r := range v.Names() {
		if v[r] < 0 {
			return fieldErr(field+"."+r, ErrNegativeDemand, "")
		}
		total += v[r]
	}
	if nonEmpty && total == 0 {
		return fieldErr(field, ErrEmptyDemand, "")
	}
	return nil
}

// dense lays v out along a pool's resource order. ok is false when v names
// a resource the pool does not have.
func dense(v Vector, resources []string) (out []int64, missing string) {
	out = make([]int64, len(resources))
	seen := 0
	for i, r := range resources {
		if q, ok := v[r]; ok {
			out[i] = q
			seen++
		}
	}
	if seen < len(v) {
		for _, r := range v.Names() {
			if _, ok := index(resources, r); !ok && v[r] != 0 {
				return nil, r
			}
		}
	}
	return out, ""
}

func index(names []string, name string) (int, bool) {
	i := sort.SearchStrings(names, name)
	return i, i < len(names) && names[i] == name
}

func addTo(dst, v []int64, sign int64) {
	for i, q := range v {
		dst[i] += sign * q
	}
}
