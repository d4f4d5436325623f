package deploytest

import (
	"context"
	"encoding/base64"
	"maps"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// required lists the variables each service must have set, non-empty.
var required = map[string][]string{
	"access":       {"PAVE_BOOTSTRAP_TOKEN"},
	"lifecycle":    {"PAVE_TEMPLATES_DIR"},
	"scheduler":    {"PAVE_SCHEDULER_CONFIG"},
	"provisioning": {"PAVE_PROVISIONING_POSTGRES_URL", "PAVE_PROVISIONING_REDIS_URL", "PAVE_PROVISIONING_KEY"},
}

var common = []string{"PAVE_NATS_URL", "PAVE_REDIS_URL", "PAVE_HTTP_ADDR", "PAVE_DATA_DIR", "PAVE_STREAM_REPLICAS"}

var bootstrapToken = regexp.MustCompile(`^pave_[a-z2-7]{52}$`)

func loadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	root := repoRoot(t)
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yaml")}},
		Environment: env,
	}, func(o *loader.Options) {
		o.SetProjectName("pave", true)
		o.Profiles = []string{"observability"}
	})
	require.NoError(t, err)
	return p
}

func TestComposeServices(t *testing.T) {
	p := loadCompose(t, map[string]string{})
	for _, name := range append([]string{"nats", "redis", "postgres"}, services...) {
		_, err := p.GetService(name)
		assert.NoError(t, err, "service %s", name)
	}
	for _, name := range services {
		t.Run(name, func(t *testing.T) {
			s, err := p.GetService(name)
			require.NoError(t, err)

			assert.Equal(t, types.ShellCommand{name}, s.Command, "started by its binary name")
			require.NotNil(t, s.Build, "built from deploy/Dockerfile")
			assert.Equal(t, "deploy/Dockerfile", s.Build.Dockerfile)
			assert.True(t, s.ReadOnly, "read-only root filesystem")

			for _, v := range append(slices.Clone(common), required[name]...) {
				val := s.Environment[v]
				if assert.NotNil(t, val, "%s must be set", v) {
					assert.NotEmpty(t, *val, "%s must not be empty", v)
				}
			}
			assert.Equal(t, "nats://nats:4222", *s.Environment["PAVE_NATS_URL"])
			assert.Contains(t, s.Environment, "OTEL_EXPORTER_OTLP_ENDPOINT")

			// The health check probes /readyz on the port the service listens on.
			require.NotNil(t, s.HealthCheck)
			require.GreaterOrEqual(t, len(s.HealthCheck.Test), 3)
			assert.Equal(t, "CMD", s.HealthCheck.Test[0], "exec form: the image has no shell")
			assert.Equal(t, "healthcheck", s.HealthCheck.Test[1], "the image's static probe")
			u, err := url.Parse(s.HealthCheck.Test[2])
			require.NoError(t, err)
			assert.Equal(t, "/readyz", u.Path)
			assert.Equal(t, ":"+u.Port(), *s.Environment["PAVE_HTTP_ADDR"], "health check port = PAVE_HTTP_ADDR")

			for _, dep := range []string{"nats", "redis"} {
				if assert.Contains(t, s.DependsOn, dep) {
					assert.Equal(t, types.ServiceConditionHealthy, s.DependsOn[dep].Condition, "%s waits for %s", name, dep)
				}
			}
			assert.Empty(t, s.Profiles, "runs without a profile")
		})
	}

	prov, _ := p.GetService("provisioning")
	assert.Equal(t, types.ServiceConditionHealthy, prov.DependsOn["postgres"].Condition)
	gw, _ := p.GetService("gateway")
	require.Len(t, gw.Ports, 1)
	assert.Equal(t, uint32(8080), gw.Ports[0].Target)

	acc, _ := p.GetService("access")
	assert.Regexp(t, bootstrapToken, *acc.Environment["PAVE_BOOTSTRAP_TOKEN"])
	key, err := base64.StdEncoding.DecodeString(*prov.Environment["PAVE_PROVISIONING_KEY"])
	require.NoError(t, err)
	assert.Len(t, key, 32, "PAVE_PROVISIONING_KEY is 32 bytes, base64")
}

func TestComposeSecretsOverridable(t *testing.T) {
	token := "pave_" + strings.Repeat("a2", 26)
	key := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	p := loadCompose(t, map[string]string{
		"PAVE_BOOTSTRAP_TOKEN":  token,
		"PAVE_PROVISIONING_KEY": key,
		"POSTGRES_PASSWORD":     "s3cret",
	})
	acc, _ := p.GetService("access")
	prov, _ := p.GetService("provisioning")
	pg, _ := p.GetService("postgres")
	assert.Equal(t, token, *acc.Environment["PAVE_BOOTSTRAP_TOKEN"])
	assert.Equal(t, key, *prov.Environment["PAVE_PROVISIONING_KEY"])
	assert.Equal(t, "s3cret", *pg.Environment["POSTGRES_PASSWORD"])
	assert.Contains(t, *prov.Environment["PAVE_PROVISIONING_POSTGRES_URL"], ":s3cret@postgres:5432/")
}

func TestComposeInfrastructure(t *testing.T) {
	p := loadCompose(t, map[string]string{})

	nats, err := p.GetService("nats")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(nats.Image, "nats:2."), "nats image %q", nats.Image)
	require.NotNil(t, nats.HealthCheck)
	assert.Contains(t, strings.Join(nats.HealthCheck.Test, " "), "http://127.0.0.1:8222/healthz?js-enabled-only=true")
	assert.True(t, hasMount(nats, "./deploy/nats/nats.conf", p.WorkingDir), "nats.conf mounted")

	for _, name := range []string{"nats", "redis", "postgres"} {
		s, _ := p.GetService(name)
		assert.NotNil(t, s.HealthCheck, "%s has a health check", name)
		named := false
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume {
				_, ok := p.Volumes[v.Source]
				assert.True(t, ok, "%s volume %s declared", name, v.Source)
				named = true
			}
		}
		assert.True(t, named, "%s keeps its data in a named volume", name)
	}

	for _, name := range []string{"otel-collector", "jaeger", "prometheus"} {
		s, err := p.GetService(name)
		if assert.NoError(t, err, "%s in the observability profile", name) {
			assert.Equal(t, []string{"observability"}, s.Profiles)
		}
	}
	// Without the profile, the observability services do not run.
	q := loadComposeProfiles(t, nil)
	_, err = q.GetService("jaeger")
	assert.Error(t, err)
	_, err = q.GetService("gateway")
	assert.NoError(t, err)
}

func loadComposeProfiles(t *testing.T, profiles []string) *types.Project {
	t.Helper()
	root := repoRoot(t)
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yaml")}},
		Environment: map[string]string{},
	}, func(o *loader.Options) {
		o.SetProjectName("pave", true)
		o.Profiles = profiles
	})
	require.NoError(t, err)
	return p
}

func hasMount(s types.ServiceConfig, rel, root string) bool {
	want := filepath.Join(root, rel)
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind && filepath.Clean(v.Source) == want {
			return true
		}
	}
	return false
}

// The NATS configuration is parsed by the server's own loader.
func TestNATSConfig(t *testing.T) {
	t.Setenv("PAVE_NATS_PASSWORD", "platform-pw") // auth.conf's variables
	t.Setenv(natsPasswordVariable("tenant"), "tenant-pw")
	for _, user := range natsUsers {
		t.Setenv(natsPasswordVariable(user), user+"-pw")
	}
	opts, err := server.ProcessConfigFile(filepath.Join(repoRoot(t), "deploy", "nats", "nats.conf"))
	require.NoError(t, err)
	assert.True(t, opts.JetStream, "JetStream enabled")
	assert.True(t, opts.SyncAlways, "jetstream { sync_interval: always }")
	assert.Equal(t, "/data/jetstream", opts.StoreDir)
	assert.Equal(t, 8222, opts.HTTPPort, "monitoring port for the health check")
	assert.Equal(t, 4222, opts.Port)
}

// The compose NATS accepts no anonymous client: every Pave service logs
// in as its own user, the runner as runner (whose permissions pkg/natsfx
// keeps in deploy/nats/auth.conf), each with the password the server
// reads; pave is the operators' login, which no service uses.
func TestComposeNATSRequiresEachProcesssLogin(t *testing.T) {
	env := map[string]string{"PAVE_NATS_PASSWORD": "platform-pw", natsPasswordVariable("tenant"): "tenant-pw"}
	for _, user := range natsUsers {
		env[natsPasswordVariable(user)] = user + "-pw"
	}
	vars := slices.Collect(maps.Keys(env))
	p := loadCompose(t, env)
	nats, err := p.GetService("nats")
	require.NoError(t, err)
	assert.True(t, hasMount(nats, "./deploy/nats/auth.conf", p.WorkingDir), "auth.conf mounted next to nats.conf")
	for _, v := range vars {
		require.NotNil(t, nats.Environment[v], "the NATS server is given %s", v)
		t.Setenv(v, *nats.Environment[v])
	}
	opts, err := server.ProcessConfigFile(filepath.Join(repoRoot(t), "deploy", "nats", "nats.conf"))
	require.NoError(t, err)
	passwords := map[string]string{}
	for _, u := range opts.Users {
		passwords[u.Username] = u.Password
		if u.Username == "tenant" {
			require.NotNil(t, u.Account, "the tenants' login is in an account of its own")
			assert.Equal(t, "TENANTS", u.Account.Name)
		}
	}
	want := map[string]string{"pave": "platform-pw", "tenant": "tenant-pw"}
	for _, user := range natsUsers {
		want[user] = user + "-pw"
	}
	assert.Equal(t, want, passwords)
	for _, name := range append(slices.Clone(services), "runner") {
		s, err := p.GetService(name)
		require.NoError(t, err)
		user := *s.Environment["PAVE_NATS_USER"]
		assert.Equal(t, name, user, "%s logs in as its own user", name)
		assert.Equal(t, passwords[user], *s.Environment["PAVE_NATS_PASSWORD"], "%s has its user's password", name)
	}
	// Provisioning makes the environments' streams as tenant, in TENANTS.
	prov, err := p.GetService("provisioning")
	require.NoError(t, err)
	require.NotNil(t, prov.Environment["PAVE_PROVISIONING_NATS_URL"])
	u, err := url.Parse(*prov.Environment["PAVE_PROVISIONING_NATS_URL"])
	require.NoError(t, err)
	pw, _ := u.User.Password()
	assert.Equal(t, "tenant", u.User.Username())
	assert.Equal(t, passwords["tenant"], pw)
}

// natsUsers are the bus's users of the services and the runners
// (pkg/natsfx.RestrictedUsers).
var natsUsers = []string{"access", "cost", "gateway", "lifecycle", "provisioning", "runner", "scheduler"}

// natsPasswordVariable is where deploy/nats/auth.conf reads user's
// password from (natsfx.PasswordVariable).
func natsPasswordVariable(user string) string {
	return "PAVE_NATS_" + strings.ToUpper(user) + "_PASSWORD"
}
