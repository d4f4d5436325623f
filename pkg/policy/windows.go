package policy

import (
	"fmt"
	"io/fs"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ChangeWindowsFile is the optional file of the policy folder that says
// when production changes are routine (context.in_change_window).
const ChangeWindowsFile = "change-windows.yaml"

// ChangeWindows are weekly windows in UTC. No file, or no windows, means
// every time is outside a window.
type ChangeWindows struct {
	Windows []ChangeWindow `yaml:"windows"`
}

// ChangeWindow is a set of weekdays and an hour range [from, to) in UTC.
type ChangeWindow struct {
	Days []string `yaml:"days"` // mon .. sun
	From string   `yaml:"from"` // "09:00"
	To   string   `yaml:"to"`   // "17:00"

	days     map[time.Weekday]bool
	from, to int // minutes of the day
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// LoadChangeWindows reads ChangeWindowsFile from fsys (absent: none).
func LoadChangeWindows(fsys fs.FS, label string) (*ChangeWindows, error) {
	raw, err := fs.ReadFile(fsys, ChangeWindowsFile)
	if err != nil {
		return &ChangeWindows{}, nil //nolint:nilerr // no file: no windows
	}
	return ParseChangeWindows(raw, label+"/"+ChangeWindowsFile)
}

// ParseChangeWindows parses and checks the YAML of a change-windows file.
func ParseChangeWindows(raw []byte, file string) (*ChangeWindows, error) {
	var cw ChangeWindows
	if err := yaml.Unmarshal(raw, &cw); err != nil {
		return nil, &PolicyError{File: file, Reason: err.Error()}
	}
	for i := range cw.Windows {
		w := &cw.Windows[i]
		w.days = map[time.Weekday]bool{}
		for _, d := range w.Days {
			wd, ok := weekdays[strings.ToLower(d)]
			if !ok {
				return nil, &PolicyError{File: file, Reason: fmt.Sprintf("windows[%d].days: %q is not mon..sun", i, d)}
			}
			w.days[wd] = true
		}
		var err error
		if w.from, err = minuteOf(w.From); err != nil {
			return nil, &PolicyError{File: file, Reason: fmt.Sprintf("windows[%d].from: %v", i, err)}
		}
		if w.to, err = minuteOf(w.To); err != nil {
			return nil, &PolicyError{File: file, Reason: fmt.Sprintf("windows[%d].to: %v", i, err)}
		}
		if w.to <= w.from {
			return nil, &PolicyError{File: file, Reason: fmt.Sprintf("windows[%d]: to must be after from", i)}
		}
	}
	return &cw, nil
}

func minuteOf(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		if s == "24:00" {
			return 24 * 60, nil
		}
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Contains reports whether t (any zone) falls in a window.
func (c *ChangeWindows) Contains(t time.Time) bool {
	if c == nil {
		return false
	}
	t = t.UTC()
	m := t.Hour()*60 + t.Minute()
	for _, w := range c.Windows {
		if w.days[t.Weekday()] && m >= w.from && m < w.to {
			return true
		}
	}
	return false
}

// LoadChangeWindowsConfig reads the change windows of cfg's policy folder
// (the built-in copy when none is set).
func LoadChangeWindowsConfig(cfg Config) (*ChangeWindows, error) {
	if cfg.PoliciesDir == "" {
		sub, err := fs.Sub(builtin, "policies")
		if err != nil {
			return nil, err
		}
		return LoadChangeWindows(sub, "builtin")
	}
	return LoadChangeWindows(osDirFS(cfg.PoliciesDir), cfg.PoliciesDir)
}
