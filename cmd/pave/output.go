package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

func validOutput(s string) bool { return s == "table" || s == "json" }

// format is the output format for w: the chosen one, else table on a
// terminal and JSON for anything else (a pipe, a file, a script).
func (c *client) format(w io.Writer) string {
	if c.output != "" {
		return c.output
	}
	if isTerminal(w) {
		return "table"
	}
	return "json"
}

func (c *client) table(w io.Writer) bool { return c.format(w) == "table" }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printRaw prints the API's JSON as it is, indented.
func printRaw(w io.Writer, raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
		return fmt.Errorf("printing the answer: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// column is one column of a list table: its header and the dotted path
// of the item's field it shows.
type column struct{ header, path string }

func cols(spec ...string) []column {
	out := make([]column, 0, len(spec))
	for _, s := range spec {
		h, p, ok := strings.Cut(s, "=")
		if !ok {
			h, p = strings.ToUpper(strings.ReplaceAll(s, "_", " ")), s
		}
		out = append(out, column{h, p})
	}
	return out
}

// show prints an answer: as it is for json; for table, a list answer
// ({"items": [...]}) as a table of columns (guessed from the items when
// none are given) and any other object as field: value lines.
func (c *client) show(w io.Writer, raw json.RawMessage, columns []column) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if !c.table(w) {
		return printRaw(w, raw)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	obj, isObj := v.(map[string]any)
	items, isList := obj["items"].([]any)
	switch {
	case isObj && isList:
		return listTable(w, items, columns)
	case isObj:
		return objectTable(w, obj)
	}
	_, err := fmt.Fprintln(w, cell(v))
	return err
}

// call makes one API call and shows the answer.
func (c *client) call(w io.Writer, method, path string, body any, columns []column) error {
	var raw json.RawMessage
	if err := c.do(method, path, body, &raw); err != nil {
		return err
	}
	return c.show(w, raw, columns)
}

// showList fetches every page of a list (at most max items when max >
// 0) and shows it.
func (c *client) showList(w io.Writer, pathAndQuery string, max int, columns []column) error {
	path, query, _ := strings.Cut(pathAndQuery, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return fmt.Errorf("listing %s: %w", path, err)
	}
	raw, err := c.list(path, q, 100, max)
	if err != nil {
		return err
	}
	return c.show(w, raw, columns)
}

func listTable(w io.Writer, items []any, columns []column) error {
	if len(columns) == 0 {
		columns = guessColumns(items)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	heads := make([]string, len(columns))
	for i, col := range columns {
		heads[i] = col.header
	}
	fmt.Fprintln(tw, strings.Join(heads, "\t"))
	for _, it := range items {
		row := make([]string, len(columns))
		for i, col := range columns {
			row[i] = cell(lookup(it, col.path))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// guessColumns are the scalar fields of the items, id and name first.
func guessColumns(items []any) []column {
	seen := map[string]bool{}
	var keys []string
	for _, it := range items {
		m, _ := it.(map[string]any)
		for k, v := range m {
			if _, nested := v.(map[string]any); nested || seen[k] {
				continue
			}
			seen[k] = true
			keys = append(keys, k)
		}
	}
	rank := func(k string) int {
		switch k {
		case "id":
			return 0
		case "name":
			return 1
		}
		return 2
	}
	sort.Slice(keys, func(i, j int) bool {
		if rank(keys[i]) != rank(keys[j]) {
			return rank(keys[i]) < rank(keys[j])
		}
		return keys[i] < keys[j]
	})
	return cols(keys...)
}

// objectTable prints field: value lines, in key order.
func objectTable(w io.Writer, obj map[string]any) error {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range keys {
		fmt.Fprintf(tw, "%s:\t%s\n", k, cell(obj[k]))
	}
	return tw.Flush()
}

// lookup follows a dotted path (admission.pool) into decoded JSON.
func lookup(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// cell is a value as one table cell: lists joined with commas, objects
// as k=v pairs, times shortened to the second.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t.UTC().Format("2006-01-02 15:04:05Z")
		}
		return strings.ReplaceAll(x, "\n", " ")
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = cell(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + cell(x[k])
		}
		return strings.Join(parts, " ")
	}
	return fmt.Sprint(v)
}
