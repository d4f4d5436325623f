package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// fileConfig is the CLI's config file: where the API is, the token (or
// the file that holds it) and the default output format.
type fileConfig struct {
	Server    string `yaml:"server,omitempty"`
	Token     string `yaml:"token,omitempty"`
	TokenFile string `yaml:"token_file,omitempty"`
	Output    string `yaml:"output,omitempty"`
}

// configKeys are the keys a config file may hold.
var configKeys = []string{"server", "token", "token_file", "output"}

// defaultConfigPath is $XDG_CONFIG_HOME/pave/config.yaml, or
// ~/.config/pave/config.yaml without XDG_CONFIG_HOME.
func defaultConfigPath() string {
	if dir := os.Getenv("XDG_CONFIG_HOME"); dir != "" {
		return filepath.Join(dir, "pave", "config.yaml")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".config", "pave", "config.yaml")
	}
	return filepath.Join(home, ".config", "pave", "config.yaml")
}

// configPath is the --config flag, else PAVE_CONFIG, else the default;
// explicit says whether the user named it (then it must exist).
func configPath(flagValue string) (path string, explicit bool) {
	if flagValue != "" {
		return flagValue, true
	}
	if p := os.Getenv("PAVE_CONFIG"); p != "" {
		return p, true
	}
	return defaultConfigPath(), false
}

// loadConfig reads and validates the config file. A missing file is an
// empty config unless the user named it.
func loadConfig(path string, explicit bool) (fileConfig, error) {
	var cfg fileConfig
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("reading config: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return cfg, fmt.Errorf("config %s: not YAML: %w", path, err)
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, ok := doc[k].(string)
		switch {
		case !slices.Contains(configKeys, k):
			return cfg, fmt.Errorf("config %s: unknown key %q (known: %s)", path, k, strings.Join(configKeys, ", "))
		case !ok:
			return cfg, fmt.Errorf("config %s: %s must be a string", path, k)
		}
		switch k {
		case "server":
			cfg.Server = s
		case "token":
			cfg.Token = s
		case "token_file":
			cfg.TokenFile = s
		case "output":
			cfg.Output = s
		}
	}
	if cfg.Token != "" && cfg.TokenFile != "" {
		return cfg, fmt.Errorf("config %s: give token or token_file, not both", path)
	}
	if cfg.Output != "" && !validOutput(cfg.Output) {
		return cfg, fmt.Errorf("config %s: output must be table or json, not %q", path, cfg.Output)
	}
	if cfg.Token != "" {
		if err := checkPrivate(path); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// checkPrivate refuses a config holding a token that others may read,
// as ssh refuses such a key.
func checkPrivate(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("checking config: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("config %s holds a token and is readable by others (mode %#o): run chmod 600 %s",
			path, info.Mode().Perm(), path)
	}
	return nil
}

// saveConfig writes the config with mode 0600, atomically, creating its
// directory with mode 0700.
func saveConfig(path string, cfg fileConfig) error {
	var buf bytes.Buffer
	buf.WriteString("# pave CLI configuration (written by pave login)\n")
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(cfg); err != nil {
		return fmt.Errorf("encoding config: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating config directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.yaml")
	if err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing config: %w", err)
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("writing config: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	return nil
}

// clientFlags are the flags every API command takes.
type clientFlags struct {
	fs                                *flag.FlagSet
	server, tokenFile, config, output *string
}

// newClient adds the API flags to fs and returns what builds the client
// once fs is parsed. Each setting comes from its flag, else the
// environment (PAVE_SERVER, PAVE_TOKEN, PAVE_OUTPUT), else the config
// file (--config, PAVE_CONFIG, $XDG_CONFIG_HOME/pave/config.yaml), else the
// default (http://localhost:8080; the token pave dev writes to
// $PAVE_DATA_DIR/token).
func newClient(fs *flag.FlagSet) func() (*client, error) {
	return addClientFlags(fs).client
}

func addClientFlags(fs *flag.FlagSet) *clientFlags {
	f := &clientFlags{fs: fs, output: new(string)}
	f.server = fs.String("server", "", "API base URL (PAVE_SERVER; default http://localhost:8080)")
	f.tokenFile = fs.String("token-file", "", "file holding the API token (else PAVE_TOKEN, the config file, $PAVE_DATA_DIR/token)")
	f.config = fs.String("config", "", "config file (PAVE_CONFIG; default "+defaultConfigPath()+")")
	fs.StringVar(f.output, "o", "", "output: table or json (PAVE_OUTPUT; default table on a terminal, json otherwise)")
	fs.StringVar(f.output, "output", "", "same as -o")
	return f
}

// settings are the resolved server, output and config file; the token is
// resolved by client, since pave login brings its own.
type settings struct {
	server, output, configPath string
	explicitConfig             bool
	file                       fileConfig
}

func (f *clientFlags) settings() (settings, error) {
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var s settings
	s.configPath, s.explicitConfig = configPath(*f.config)
	cfg, err := loadConfig(s.configPath, s.explicitConfig)
	if err != nil {
		return s, err
	}
	s.file = cfg
	s.server = firstOf(flagValue(set, "server", *f.server), os.Getenv("PAVE_SERVER"), cfg.Server, "http://localhost:8080")
	if u, err := url.Parse(s.server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return s, usagef("server %q is not an http(s) URL like http://localhost:8080", s.server)
	}
	s.server = strings.TrimRight(s.server, "/")
	s.output = firstOf(flagValue(set, "o", *f.output), flagValue(set, "output", *f.output), os.Getenv("PAVE_OUTPUT"), cfg.Output)
	if s.output != "" && !validOutput(s.output) {
		return s, usagef("output %q: use table or json", s.output)
	}
	return s, nil
}

// client resolves the token and builds the client.
func (f *clientFlags) client() (*client, error) {
	s, err := f.settings()
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	token, err := resolveToken(set["token-file"], *f.tokenFile, s.file)
	if err != nil {
		return nil, err
	}
	return newAPIClient(s.server, token, s.output), nil
}

func newAPIClient(server, token, output string) *client {
	return &client{server: server, token: token, output: output,
		http: &http.Client{Timeout: 30 * time.Second}, stream: &http.Client{}}
}

// resolveToken: --token-file, else PAVE_TOKEN, else the config's token or
// token_file, else the file pave dev writes.
func resolveToken(flagSet bool, flagFile string, cfg fileConfig) (string, error) {
	file := ""
	switch {
	case flagSet:
		file = flagFile
	case os.Getenv("PAVE_TOKEN") != "":
		return strings.TrimSpace(os.Getenv("PAVE_TOKEN")), nil
	case cfg.Token != "":
		return cfg.Token, nil
	case cfg.TokenFile != "":
		file = cfg.TokenFile
	default:
		file = filepath.Join(envOr("PAVE_DATA_DIR", ".pave"), "token")
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("no token: run 'pave login', set PAVE_TOKEN or give --token-file (%w)", err)
	}
	return strings.TrimSpace(string(raw)), nil
}

func flagValue(set map[string]bool, name, v string) string {
	if set[name] {
		return v
	}
	return ""
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
