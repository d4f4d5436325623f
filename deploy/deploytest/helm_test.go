package deploytest

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// helmBinary finds helm on PATH or in $(go env GOPATH)/bin. Missing, the
// test is skipped, or fails when PAVE_REQUIRE_SERVERS=1.
func helmBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "helm")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	msg := "helm not found on PATH or in $(go env GOPATH)/bin; install it with: go install helm.sh/helm/v3/cmd/helm@v3.22.0"
	if os.Getenv("PAVE_REQUIRE_SERVERS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// officialNATSChart is the official NATS chart when one is at hand: the
// directory PAVE_NATS_CHART names, or what `helm dependency build
// deploy/helm/pave` put in deploy/helm/pave/charts (a directory or a
// .tgz). It is never committed; "" when there is none.
func officialNATSChart(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("PAVE_NATS_CHART"); dir != "" {
		_, err := os.Stat(filepath.Join(dir, "Chart.yaml"))
		require.NoError(t, err, "PAVE_NATS_CHART=%s is not a chart directory", dir)
		return dir
	}
	matches, _ := filepath.Glob(filepath.Join(repoRoot(t), "deploy", "helm", "pave", "charts", "nats*"))
	if len(matches) > 0 {
		return matches[0]
	}
	return ""
}

// chartCopy copies deploy/helm/pave (following the files/templates link)
// into a temporary directory with the official NATS chart in charts/nats
// when one is at hand (officialNATSChart), else a stub of it, so that the
// chart lints and renders without fetching anything. The stub renders
// nothing; the values that configure it are checked apart.
func chartCopy(t *testing.T) string {
	t.Helper()
	src := filepath.Join(repoRoot(t), "deploy", "helm", "pave")
	dst := filepath.Join(t.TempDir(), "pave")
	require.NoError(t, copyTree(src, dst))
	if real := officialNATSChart(t); real != "" {
		require.NoError(t, os.RemoveAll(filepath.Join(dst, "charts")))
		require.NoError(t, os.MkdirAll(filepath.Join(dst, "charts"), 0o755))
		if strings.HasSuffix(real, ".tgz") {
			b, err := os.ReadFile(real)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dst, "charts", filepath.Base(real)), b, 0o644))
		} else {
			require.NoError(t, copyTree(real, filepath.Join(dst, "charts", "nats")))
		}
		return dst
	}
	stub := filepath.Join(dst, "charts", "nats")
	require.NoError(t, os.MkdirAll(stub, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(stub, "Chart.yaml"),
		[]byte("apiVersion: v2\nname: nats\nversion: 2.14.2\ndescription: test stub of the official NATS chart\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(stub, "values.yaml"), []byte("{}\n"), 0o644))
	return dst
}

func copyTree(src, dst string) error {
	src, err := filepath.EvalSymlinks(src)
	if err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := os.Stat(p) // follows links
		if err != nil {
			return err
		}
		if info.IsDir() {
			if d.Type()&fs.ModeSymlink != 0 {
				return copyTree(p, target)
			}
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

func helm(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

type manifest map[string]any

func render(t *testing.T, bin, chart string, set ...string) []manifest {
	t.Helper()
	args := []string{"template", "pave", chart, "--namespace", "pave"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := helm(t, bin, args...)
	require.NoError(t, err, out)
	var docs []manifest
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var m manifest
		if err := dec.Decode(&m); err != nil {
			require.ErrorContains(t, err, "EOF")
			break
		}
		if m != nil {
			docs = append(docs, m)
		}
	}
	return docs
}

func find(docs []manifest, kind, name string) manifest {
	for _, d := range docs {
		if d["kind"] == kind && dig(d, "metadata", "name") == name {
			return d
		}
	}
	return nil
}

// dig walks maps by key and lists by index (int).
func dig(v any, path ...any) any {
	if m, ok := v.(manifest); ok {
		v = map[string]any(m)
	}
	for _, p := range path {
		switch k := p.(type) {
		case string:
			switch m := v.(type) {
			case map[string]any:
				v = m[k]
			case map[any]any:
				v = m[k]
			case manifest: // yaml.v3 reuses the named map type for nested maps
				v = m[k]
			default:
				return nil
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func envOf(c any) map[string]any {
	out := map[string]any{}
	l, _ := dig(c, "env").([]any)
	for _, e := range l {
		name, _ := dig(e, "name").(string)
		if v := dig(e, "value"); v != nil {
			out[name] = v
		} else {
			out[name] = dig(e, "valueFrom")
		}
	}
	return out
}

var external = []string{"nats.enabled=false", "nats.url=nats://nats.example:4222"}

func TestHelmLint(t *testing.T) {
	bin := helmBinary(t)
	chart := chartCopy(t)
	for _, set := range [][]string{nil, external} {
		args := []string{"lint", chart, "--strict"}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		out, err := helm(t, bin, args...)
		assert.NoError(t, err, out)
	}
}

func TestHelmTemplate(t *testing.T) {
	bin := helmBinary(t)
	chart := chartCopy(t)
	docs := render(t, bin, chart, external...)

	for _, svc := range services {
		t.Run(svc, func(t *testing.T) {
			name := "pave-" + svc
			d := find(docs, "Deployment", name)
			require.NotNil(t, d, "Deployment %s", name)
			assert.EqualValues(t, 2, dig(d, "spec", "replicas"))
			pod := dig(d, "spec", "template", "spec")
			assert.Equal(t, true, dig(pod, "securityContext", "runAsNonRoot"))
			c := dig(pod, "containers", 0)
			assert.Equal(t, []any{svc}, dig(c, "command"), "started by binary name")
			assert.Equal(t, "/healthz", dig(c, "livenessProbe", "httpGet", "path"))
			assert.Equal(t, "/readyz", dig(c, "readinessProbe", "httpGet", "path"))
			assert.Equal(t, "http", dig(c, "readinessProbe", "httpGet", "port"))
			assert.EqualValues(t, 8080, dig(c, "ports", 0, "containerPort"))
			assert.Equal(t, true, dig(c, "securityContext", "runAsNonRoot"))
			assert.Equal(t, true, dig(c, "securityContext", "readOnlyRootFilesystem"))
			assert.Equal(t, false, dig(c, "securityContext", "allowPrivilegeEscalation"))
			assert.NotNil(t, dig(c, "resources", "requests", "cpu"))
			assert.NotNil(t, dig(c, "resources", "limits", "memory"))

			env := envOf(c)
			assert.Equal(t, "nats://nats.example:4222", env["PAVE_NATS_URL"])
			assert.Equal(t, "3", env["PAVE_STREAM_REPLICAS"])
			assert.Equal(t, ":8080", env["PAVE_HTTP_ADDR"])
			assert.Equal(t, "/var/lib/pave", env["PAVE_DATA_DIR"])

			// PAVE_DATA_DIR is an emptyDir: the root filesystem is read-only.
			mounted := false
			for _, m := range dig(c, "volumeMounts").([]any) {
				if dig(m, "mountPath") == "/var/lib/pave" {
					vol := dig(m, "name")
					for _, v := range dig(pod, "volumes").([]any) {
						if dig(v, "name") == vol && dig(v, "emptyDir") != nil {
							mounted = true
						}
					}
				}
			}
			assert.True(t, mounted, "emptyDir at /var/lib/pave")

			pdb := find(docs, "PodDisruptionBudget", name)
			require.NotNil(t, pdb, "PDB %s", name)
			assert.Equal(t, dig(d, "spec", "selector", "matchLabels"), dig(pdb, "spec", "selector", "matchLabels"))
		})
	}

	// Service-specific configuration, from Secrets.
	acc := envOf(dig(find(docs, "Deployment", "pave-access"), "spec", "template", "spec", "containers", 0))
	assert.Equal(t, "pave-bootstrap", dig(acc["PAVE_BOOTSTRAP_TOKEN"], "secretKeyRef", "name"))
	prov := envOf(dig(find(docs, "Deployment", "pave-provisioning"), "spec", "template", "spec", "containers", 0))
	for _, v := range []string{"PAVE_PROVISIONING_KEY", "PAVE_PROVISIONING_POSTGRES_URL", "PAVE_PROVISIONING_REDIS_URL"} {
		assert.Equal(t, "pave-provisioning", dig(prov[v], "secretKeyRef", "name"), v)
	}
	lc := envOf(dig(find(docs, "Deployment", "pave-lifecycle"), "spec", "template", "spec", "containers", 0))
	assert.Equal(t, "/etc/pave/templates", lc["PAVE_TEMPLATES_DIR"])
	sc := envOf(dig(find(docs, "Deployment", "pave-scheduler"), "spec", "template", "spec", "containers", 0))
	assert.Equal(t, "/etc/pave/pools/pools.yaml", sc["PAVE_SCHEDULER_CONFIG"])

	// Generated secrets have the right shape.
	boot := find(docs, "Secret", "pave-bootstrap")
	require.NotNil(t, boot)
	assert.Regexp(t, bootstrapToken, b64(t, dig(boot, "data", "token")))
	ps := find(docs, "Secret", "pave-provisioning")
	require.NotNil(t, ps)
	assert.Len(t, b64(t, b64(t, dig(ps, "data", "key"))), 32, "32-byte master key, base64")

	// The template catalog ConfigMap holds deploy/templates; placeholders for the rest.
	tm := find(docs, "ConfigMap", "pave-templates")
	require.NotNil(t, tm)
	entries, err := os.ReadDir(filepath.Join(repoRoot(t), "deploy", "templates"))
	require.NoError(t, err)
	for _, e := range entries {
		assert.Contains(t, dig(tm, "data"), e.Name())
	}
	pools := find(docs, "ConfigMap", "pave-pools")
	require.NotNil(t, pools)
	assert.Equal(t, readFile(t, "deploy/scheduler/pools.yaml"), dig(pools, "data", "pools.yaml"),
		"the scheduler's pools file is deploy/scheduler/pools.yaml")
	for _, cm := range []string{"pave-policies", "pave-rate-cards"} {
		assert.NotNil(t, find(docs, "ConfigMap", cm), cm)
	}

	gw := find(docs, "Service", "pave-gateway")
	require.NotNil(t, gw, "the gateway has a Service")
	assert.Equal(t, "http", dig(gw, "spec", "ports", 0, "targetPort"))
	assert.Equal(t, "gateway", dig(gw, "spec", "selector", "app.kubernetes.io/component"))
	assert.Nil(t, find(docs, "Ingress", "pave-gateway"), "Ingress is optional, off by default")
}

func b64(t *testing.T, v any) string {
	t.Helper()
	s, _ := v.(string)
	out, err := decodeB64(s)
	require.NoError(t, err)
	return out
}

func TestHelmTemplateOptions(t *testing.T) {
	bin := helmBinary(t)
	chart := chartCopy(t)

	// The NATS subchart's client Service when it is enabled.
	docs := render(t, bin, chart)
	c := dig(find(docs, "Deployment", "pave-gateway"), "spec", "template", "spec", "containers", 0)
	assert.Equal(t, "nats://pave-nats:4222", envOf(c)["PAVE_NATS_URL"])

	// Ingress, existing secrets, Redis and OTLP.
	docs = render(t, bin, chart, append(external,
		"gateway.ingress.enabled=true",
		"bootstrapToken.existingSecret=ops-bootstrap",
		"provisioning.existingSecret=ops-provisioning",
		"redis.url=redis://redis.example:6379/1",
		"otel.endpoint=http://collector:4318",
	)...)
	assert.NotNil(t, find(docs, "Ingress", "pave-gateway"))
	assert.Nil(t, find(docs, "Secret", "pave-bootstrap"))
	assert.Nil(t, find(docs, "Secret", "pave-provisioning"))
	acc := envOf(dig(find(docs, "Deployment", "pave-access"), "spec", "template", "spec", "containers", 0))
	assert.Equal(t, "ops-bootstrap", dig(acc["PAVE_BOOTSTRAP_TOKEN"], "secretKeyRef", "name"))
	assert.Equal(t, "pave-redis", dig(acc["PAVE_REDIS_URL"], "secretKeyRef", "name"))
	assert.Equal(t, "http://collector:4318", acc["OTEL_EXPORTER_OTLP_ENDPOINT"])
}

// values.schema.json rejects bad values: helm template fails.
func TestHelmSchemaRejects(t *testing.T) {
	bin := helmBinary(t)
	chart := chartCopy(t)
	for _, bad := range []string{
		"services.gateway.replicas=-1",
		"streams.replicas=2",
		"bootstrapToken.value=not-a-token",
		"provisioning.key=tooshort",
		"log.level=loud",
		"unknownTopLevel=1",
	} {
		t.Run(bad, func(t *testing.T) {
			out, err := helm(t, bin, "template", "pave", chart, "--set", external[0], "--set", external[1], "--set", bad)
			assert.Error(t, err, "accepted %s", bad)
			assert.Contains(t, out, "values don't meet the specifications of the schema")
		})
	}
	t.Run("nats disabled without url", func(t *testing.T) {
		out, err := helm(t, bin, "template", "pave", chart, "--set", "nats.enabled=false")
		assert.Error(t, err)
		assert.Contains(t, out, "url")
	})
}

// The values that configure the official NATS chart: a three-node
// JetStream cluster with file storage that fsyncs every write.
func TestHelmNATSValues(t *testing.T) {
	var v map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(readFile(t, "deploy/helm/pave/values.yaml")), &v))
	assert.Equal(t, true, dig(v, "nats", "enabled"))
	assert.Equal(t, true, dig(v, "nats", "config", "cluster", "enabled"))
	assert.Equal(t, 3, dig(v, "nats", "config", "cluster", "replicas"))
	assert.Equal(t, true, dig(v, "nats", "config", "jetstream", "enabled"))
	assert.Equal(t, true, dig(v, "nats", "config", "jetstream", "fileStore", "enabled"))
	assert.Equal(t, "always", dig(v, "nats", "config", "jetstream", "merge", "sync_interval"))
	assert.Equal(t, 3, dig(v, "streams", "replicas"), "R3 streams")

	var c map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(readFile(t, "deploy/helm/pave/Chart.yaml")), &c))
	dep := dig(c, "dependencies", 0)
	assert.Equal(t, "nats", dig(dep, "name"))
	assert.Equal(t, "https://nats-io.github.io/k8s/helm/charts/", dig(dep, "repository"))
	assert.Equal(t, "nats.enabled", dig(dep, "condition"))
}

// With the official NATS chart at hand (PAVE_NATS_CHART, or after `helm
// dependency build`), the chart renders a three-node JetStream cluster
// that fsyncs every write and runs the server Pave embeds; the stub above
// stands in only when no real chart is there.
func TestHelmRendersWithTheOfficialNATSChart(t *testing.T) {
	if officialNATSChart(t) == "" {
		t.Skip("no official NATS chart at hand: set PAVE_NATS_CHART to its directory, or run helm dependency build deploy/helm/pave")
	}
	bin := helmBinary(t)
	chart := chartCopy(t)
	out, err := helm(t, bin, "lint", chart)
	require.NoError(t, err, out)
	out, err = helm(t, bin, "dependency", "list", chart)
	require.NoError(t, err, out)
	assert.Regexp(t, `nats\s+>=2\.12\.0 <3\.0\.0\s+\S+\s+(ok|unpacked)`, out, "the chart at hand satisfies the dependency")

	docs := render(t, bin, chart)
	sts := find(docs, "StatefulSet", "pave-nats")
	require.NotNil(t, sts, "the official chart renders its StatefulSet")
	assert.Equal(t, 3, dig(sts, "spec", "replicas"))
	image, _ := dig(sts, "spec", "template", "spec", "containers", 0, "image").(string)
	assert.Equal(t, "nats:"+embeddedNATSVersion(t)+"-alpine", image, "the cluster runs the server Pave embeds")
	cm := find(docs, "ConfigMap", "pave-nats-config")
	require.NotNil(t, cm)
	conf, _ := dig(cm, "data", "nats.conf").(string)
	assert.Contains(t, conf, `"sync_interval": "always"`, "every write is fsynced before its ack")
	assert.Contains(t, conf, "jetstream")
	assert.Contains(t, conf, "cluster")
}

// embeddedNATSVersion is the nats-server version pkg/go.mod requires.
func embeddedNATSVersion(t *testing.T) string {
	t.Helper()
	for _, line := range strings.Split(readFile(t, "pkg/go.mod"), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "github.com/nats-io/nats-server/v2" {
			return strings.TrimPrefix(f[1], "v")
		}
	}
	t.Fatal("pkg/go.mod requires no nats-server")
	return ""
}

// The Helm chart's and docker-compose's NATS servers are the version Pave
// embeds and tests against.
func TestNATSServerVersionsAgree(t *testing.T) {
	var v map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(readFile(t, "deploy/helm/pave/values.yaml")), &v))
	want := embeddedNATSVersion(t) + "-alpine"
	assert.Equal(t, want, dig(v, "nats", "container", "image", "tag"), "deploy/helm/pave/values.yaml")
	assert.Contains(t, readFile(t, "docker-compose.yaml"), "image: nats:"+want, "docker-compose.yaml")
}

// The access service signs the audit ledger with a key from a Secret:
// one generated at install (kept on upgrade and uninstall), or an
// existing one; never a key each pod makes for itself.
func TestHelmAuditSigningKeyFromASecret(t *testing.T) {
	bin := helmBinary(t)
	chart := chartCopy(t)
	docs := render(t, bin, chart, external...)
	acc := envOf(dig(find(docs, "Deployment", "pave-access"), "spec", "template", "spec", "containers", 0))
	assert.Equal(t, "pave-audit", dig(acc["PAVE_AUDIT_SIGNING_KEY"], "secretKeyRef", "name"))
	assert.Equal(t, "signing-key", dig(acc["PAVE_AUDIT_SIGNING_KEY"], "secretKeyRef", "key"))
	s := find(docs, "Secret", "pave-audit")
	require.NotNil(t, s, "the chart generates the audit Secret")
	assert.Equal(t, "keep", dig(s, "metadata", "annotations", "helm.sh/resource-policy"))
	assert.Len(t, b64(t, b64(t, dig(s, "data", "signing-key"))), 32, "a 32-byte Ed25519 seed, base64")
	for _, svc := range services {
		if svc == "access" {
			continue
		}
		env := envOf(dig(find(docs, "Deployment", "pave-"+svc), "spec", "template", "spec", "containers", 0))
		assert.NotContains(t, env, "PAVE_AUDIT_SIGNING_KEY", "only access holds the signing key, not %s", svc)
	}

	docs = render(t, bin, chart, append(external, "audit.existingSecret=ops-audit", "audit.existingSecretKey=seed")...)
	assert.Nil(t, find(docs, "Secret", "pave-audit"))
	acc = envOf(dig(find(docs, "Deployment", "pave-access"), "spec", "template", "spec", "containers", 0))
	assert.Equal(t, "ops-audit", dig(acc["PAVE_AUDIT_SIGNING_KEY"], "secretKeyRef", "name"))
	assert.Equal(t, "seed", dig(acc["PAVE_AUDIT_SIGNING_KEY"], "secretKeyRef", "key"))

	out, err := helm(t, bin, "template", "pave", chart, "--set", external[0], "--set", external[1], "--set", "audit.signingKey=short")
	assert.Error(t, err, "a key that is not 32 bytes base64 is refused")
	assert.Contains(t, out, "values don't meet the specifications of the schema")
}

// The chart's NATS accepts only Pave's logins: every service's pod logs in
// as its own user, a runner's as runner, each with its password from the
// Secret natsAuth.secretName, which the NATS pods read too; the users'
// permissions in values.yaml are deploy/nats/auth.conf's (which pkg/natsfx
// generates). With the official chart at hand, the rendered nats.conf is
// parsed by the server's own loader.
func TestHelmNATSRequiresEachPodsLogin(t *testing.T) {
	bin := helmBinary(t)
	chart := chartCopy(t)
	docs := render(t, bin, chart)
	s := find(docs, "Secret", "pave-nats-auth")
	require.NotNil(t, s, "the chart generates the logins' Secret")
	assert.Equal(t, "keep", dig(s, "metadata", "annotations", "helm.sh/resource-policy"))
	for _, key := range append([]string{"pave", "tenant"}, natsUsers...) {
		assert.Len(t, b64(t, dig(s, "data", key)), 40, key)
	}
	// Provisioning makes the environments' streams as tenant, in the
	// TENANTS account, with the password from the same Secret.
	prov := envOf(dig(find(docs, "Deployment", "pave-provisioning"), "spec", "template", "spec", "containers", 0))
	assert.Equal(t, "tenant", dig(prov["PAVE_NATS_TENANT_PASSWORD"], "secretKeyRef", "key"))
	assert.Regexp(t, `^nats://tenant:\$\(PAVE_NATS_TENANT_PASSWORD\)@`, prov["PAVE_PROVISIONING_NATS_URL"])
	for _, name := range append(slices.Clone(services), "runner-batch") {
		env := envOf(dig(find(docs, "Deployment", "pave-"+name), "spec", "template", "spec", "containers", 0))
		user := name
		if name == "runner-batch" {
			user = "runner"
		}
		assert.Equal(t, user, env["PAVE_NATS_USER"], name)
		assert.Equal(t, "pave-nats-auth", dig(env["PAVE_NATS_PASSWORD"], "secretKeyRef", "name"), name)
		assert.Equal(t, user, dig(env["PAVE_NATS_PASSWORD"], "secretKeyRef", "key"), name)
	}

	// values.yaml's logins are deploy/nats/auth.conf's.
	var v map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(readFile(t, "deploy/helm/pave/values.yaml")), &v))
	assert.Equal(t, dig(v, "natsAuth", "secretName"), dig(v, "nats", "container", "env", "PAVE_NATS_PASSWORD", "valueFrom", "secretKeyRef", "name"))
	t.Setenv("PAVE_NATS_PASSWORD", "platform-pw")
	for _, user := range append([]string{"tenant"}, natsUsers...) {
		ref := dig(v, "nats", "container", "env", natsPasswordVariable(user), "valueFrom", "secretKeyRef")
		assert.Equal(t, dig(v, "natsAuth", "secretName"), dig(ref, "name"), user)
		assert.Equal(t, user, dig(ref, "key"), user)
		t.Setenv(natsPasswordVariable(user), user+"-pw")
	}
	want, err := server.ProcessConfigFile(filepath.Join(repoRoot(t), "deploy", "nats", "nats.conf"))
	require.NoError(t, err)
	users := dig(v, "nats", "config", "merge", "authorization", "users").([]any)
	tenants := dig(v, "nats", "config", "merge", "accounts", "TENANTS")
	assert.Equal(t, "enabled", dig(tenants, "jetstream"))
	require.Len(t, users, len(want.Users)-1, "every login but tenant's is the platform account's")
	for _, u := range want.Users {
		if u.Username == "tenant" {
			tu := dig(tenants, "users").([]any)
			require.Len(t, tu, 1)
			assert.Equal(t, "tenant", dig(tu[0], "user"))
			assert.Equal(t, "<< $PAVE_NATS_TENANT_PASSWORD >>", dig(tu[0], "password"))
			continue
		}
		var got any
		for _, hu := range users {
			if dig(hu, "user") == u.Username {
				got = hu
			}
		}
		require.NotNil(t, got, "values.yaml has no user %s", u.Username)
		if u.Permissions == nil {
			assert.Nil(t, dig(got, "permissions"), u.Username)
			continue
		}
		assert.Equal(t, toAny(u.Permissions.Publish.Allow), dig(got, "permissions", "publish", "allow"), u.Username)
		assert.Equal(t, toAny(u.Permissions.Subscribe.Allow), dig(got, "permissions", "subscribe", "allow"), u.Username)
		assert.Equal(t, u.Permissions.Response != nil, dig(got, "permissions", "allow_responses") != nil, "%s responses", u.Username)
	}

	if officialNATSChart(t) == "" {
		t.Log("no official NATS chart at hand: the rendered nats.conf is not checked (set PAVE_NATS_CHART)")
		return
	}
	cm := find(docs, "ConfigMap", "pave-nats-config")
	require.NotNil(t, cm)
	conf, _ := dig(cm, "data", "nats.conf").(string)
	file := filepath.Join(t.TempDir(), "nats.conf")
	require.NoError(t, os.WriteFile(file, []byte(conf), 0o600))
	t.Setenv("SERVER_NAME", "pave-nats-0") // the pod's, in the chart's StatefulSet
	opts, err := server.ProcessConfigFile(file)
	require.NoError(t, err, conf)
	rendered := map[string]*server.User{}
	for _, u := range opts.Users {
		rendered[u.Username] = u
	}
	require.Contains(t, rendered, "pave")
	assert.Equal(t, "platform-pw", rendered["pave"].Password, "the password is the container's variable")
	require.Contains(t, rendered, "tenant")
	require.NotNil(t, rendered["tenant"].Account, "the tenants' login is in an account of its own")
	assert.Equal(t, "TENANTS", rendered["tenant"].Account.Name)
	assert.Equal(t, "tenant-pw", rendered["tenant"].Password)
	for _, u := range want.Users {
		if u.Permissions == nil {
			continue
		}
		require.Contains(t, rendered, u.Username)
		got := rendered[u.Username]
		assert.Equal(t, u.Username+"-pw", got.Password)
		require.NotNil(t, got.Permissions, u.Username)
		assert.ElementsMatch(t, u.Permissions.Publish.Allow, got.Permissions.Publish.Allow, u.Username)
		assert.ElementsMatch(t, u.Permissions.Subscribe.Allow, got.Permissions.Subscribe.Allow, u.Username)
		assert.Equal(t, u.Permissions.Response != nil, got.Permissions.Response != nil, u.Username)
	}
	sts := find(docs, "StatefulSet", "pave-nats")
	env := envOf(dig(sts, "spec", "template", "spec", "containers", 0))
	for _, user := range natsUsers {
		assert.Equal(t, "pave-nats-auth", dig(env[natsPasswordVariable(user)], "secretKeyRef", "name"), user)
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
