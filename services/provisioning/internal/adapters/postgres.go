package adapters

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// Postgres gives each resource a database and a login role that owns it,
// both named domain.ObjectName(id), on the server of an admin URL. Each
// operation opens its own admin connection: provisioning is rare, and a
// target that is down costs nothing between operations.
type Postgres struct {
	cfg   *pgx.ConnConfig
	admin *url.URL
}

var _ app.Driver = (*Postgres)(nil)

// NewPostgres prepares the driver; it connects only to do something, so a
// target that is down does not stop the service from starting.
func NewPostgres(adminURL string) (*Postgres, error) {
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return nil, errors.New("postgres admin url: want postgres://user[:password]@host:port/database")
	}
	cfg, err := pgx.ParseConfig(adminURL)
	if err != nil {
		return nil, fmt.Errorf("postgres admin url: %w", err)
	}
	return &Postgres{cfg: cfg, admin: u}, nil
}

// Planned names the database and the role.
func (p *Postgres) Planned(id string) []string {
	name := domain.ObjectName(id)
	return []string{domain.ExternalID("database", name), domain.ExternalID("role", name)}
}

// Provision creates the role and its database, or finds them, and sets a
// new password: the only place it is ever known is the answer.
func (p *Postgres) Provision(ctx context.Context, r domain.Resource) (domain.Result, error) {
	limit, err := pgConnectionLimit(r.Parameters, r.Class)
	if err != nil {
		return domain.Result{}, err
	}
	name := domain.ObjectName(r.ID)
	password, err := newPassword()
	if err != nil {
		return domain.Result{}, err
	}
	verifier, err := scramVerifier(password)
	if err != nil {
		return domain.Result{}, err
	}
	conn, err := p.connect(ctx, "")
	if err != nil {
		return domain.Result{}, err
	}
	defer closeConn(conn)
	have, err := pgExists(ctx, conn, name)
	if err != nil {
		return domain.Result{}, err
	}
	if have.HalfDropped { // an interrupted drop: finish it, then create anew
		if err := pgDropDatabase(ctx, conn, name); err != nil {
			return domain.Result{}, err
		}
	}
	verb := "CREATE"
	if have.Role {
		verb = "ALTER"
	}
	stmts := []string{fmt.Sprintf("%s ROLE %s LOGIN PASSWORD %s CONNECTION LIMIT %d", verb, ident(name), literal(verifier), limit)}
	if !have.DB {
		stmts = append(stmts, fmt.Sprintf("CREATE DATABASE %s OWNER %s", ident(name), ident(name)))
	}
	// Other roles may not even connect; the owner keeps its own rights.
	stmts = append(stmts, fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC", ident(name)))
	if err := pgExec(ctx, conn, stmts...); err != nil {
		return domain.Result{}, fmt.Errorf("create role and database %s: %w", name, err)
	}
	return domain.Result{Outputs: p.outputs(name), Credentials: &domain.Credentials{
		Username: name, Password: password, URL: p.loginURL(name, password),
	}}, nil
}

// Update applies the parameters to the role; the password stays.
func (p *Postgres) Update(ctx context.Context, r domain.Resource) (domain.Result, error) {
	limit, err := pgConnectionLimit(r.Parameters, r.Class)
	if err != nil {
		return domain.Result{}, err
	}
	name := domain.ObjectName(r.ID)
	conn, err := p.connect(ctx, "")
	if err != nil {
		return domain.Result{}, err
	}
	defer closeConn(conn)
	have, err := pgExists(ctx, conn, name)
	if err != nil {
		return domain.Result{}, err
	}
	if !have.Role || !have.DB {
		return domain.Result{}, domain.Permanent(fmt.Errorf("update %s: role or database is missing", name))
	}
	if err := pgExec(ctx, conn, fmt.Sprintf("ALTER ROLE %s CONNECTION LIMIT %d", ident(name), limit)); err != nil {
		return domain.Result{}, fmt.Errorf("update role %s: %w", name, err)
	}
	return domain.Result{Outputs: p.outputs(name)}, nil
}

// Sanitize drops everything the role owns inside its database, after
// ending its sessions so that no lock holds the drop up. The role and the
// empty database stay.
func (p *Postgres) Sanitize(ctx context.Context, id string) error {
	name := domain.ObjectName(id)
	conn, err := p.connect(ctx, "")
	if err != nil {
		return err
	}
	defer closeConn(conn)
	// A half-dropped database holds nothing anyone can reach; its drop
	// finishes in Deprovision.
	have, err := pgExists(ctx, conn, name)
	if err != nil || !have.Role || !have.DB {
		return err
	}
	if err := pgTerminate(ctx, conn, name); err != nil {
		return err
	}
	inside, err := p.connect(ctx, name)
	if err != nil {
		return err
	}
	defer closeConn(inside)
	if err := pgExec(ctx, inside, "DROP OWNED BY "+ident(name)); err != nil {
		return fmt.Errorf("drop objects owned by %s: %w", name, err)
	}
	return nil
}

// Deprovision ends the role's sessions and drops its database and role.
func (p *Postgres) Deprovision(ctx context.Context, id string) (bool, error) {
	name := domain.ObjectName(id)
	conn, err := p.connect(ctx, "")
	if err != nil {
		return false, err
	}
	defer closeConn(conn)
	have, err := pgExists(ctx, conn, name)
	if err != nil || !have.Role && !have.DB && !have.HalfDropped {
		return false, err
	}
	if have.Role { // no new session from here on
		if err := pgExec(ctx, conn, fmt.Sprintf("ALTER ROLE %s NOLOGIN", ident(name))); err != nil {
			return false, fmt.Errorf("lock out role %s: %w", name, err)
		}
	}
	if have.DB || have.HalfDropped { // a retry finishes an interrupted drop
		if err := pgDropDatabase(ctx, conn, name); err != nil {
			return false, err
		}
	}
	if have.Role {
		if err := pgDropRole(ctx, conn, name); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Inventory lists databases and roles named with Pave's prefix.
func (p *Postgres) Inventory(ctx context.Context) ([]string, error) {
	conn, err := p.connect(ctx, "")
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)
	rows, err := conn.Query(ctx, `
		SELECT 'database:' || datname FROM pg_database WHERE left(datname, length($1)) = $1
		UNION ALL
		SELECT 'role:' || rolname FROM pg_roles WHERE left(rolname, length($1)) = $1
		ORDER BY 1`, domain.Prefix)
	if err != nil {
		return nil, fmt.Errorf("list databases and roles: %w", pgClassify(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list databases and roles: %w", pgClassify(err))
	}
	return ids, nil
}

// Remove drops one database or role by external id.
func (p *Postgres) Remove(ctx context.Context, externalID string) error {
	kind, name, ok := domain.SplitExternalID(externalID)
	if !ok || len(name) <= len(domain.Prefix) || name[:len(domain.Prefix)] != domain.Prefix {
		return domain.Permanent(fmt.Errorf("remove %q: not a Pave database or role", externalID))
	}
	if kind != "database" && kind != "role" {
		return domain.Permanent(fmt.Errorf("remove %q: unknown kind %q", externalID, kind))
	}
	conn, err := p.connect(ctx, "")
	if err != nil {
		return err
	}
	defer closeConn(conn)
	if kind == "database" {
		return pgDropDatabase(ctx, conn, name)
	}
	return pgDropRole(ctx, conn, name)
}

// connect opens an admin connection to database, or to the admin URL's
// database when it is empty. The caller closes it.
func (p *Postgres) connect(ctx context.Context, database string) (*pgx.Conn, error) {
	cc := p.cfg.Copy()
	if database != "" {
		cc.Database = database
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres database %s: %w", cc.Database, pgClassify(err))
	}
	return conn, nil
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

func (p *Postgres) outputs(name string) map[string]string {
	return map[string]string{
		"host": p.admin.Hostname(), "port": portOr(p.admin.Port(), "5432"),
		"database": name, "username": name,
	}
}

// loginURL is the admin URL with the role's login and database.
func (p *Postgres) loginURL(name, password string) string {
	u := *p.admin
	u.User = url.UserPassword(name, password)
	u.Path = "/" + name
	q := u.Query()
	q.Del("user")
	q.Del("password")
	u.RawQuery = q.Encode()
	return u.String()
}

// pgClassConnections is the most connections a role of each resource
// class may hold: one tenant never takes the shared server's slots.
var pgClassConnections = map[string]int64{"small": 20, "medium": 50, "large": 100}

// pgConnectionLimit is the role's connection limit: 1 up to its class's
// bound, which is also the default; a class without a bound of its own
// has small's. There is no "no limit" (-1).
func pgConnectionLimit(m map[string]any, class string) (int64, error) {
	bound, ok := pgClassConnections[class]
	if !ok {
		class, bound = "small", pgClassConnections["small"]
	}
	ps := newParams("postgres", m)
	limit, err := ps.Int("connection_limit", bound)
	if err != nil {
		return 0, err
	}
	if limit < 1 || limit > bound {
		return 0, domain.Permanent(fmt.Errorf("postgres parameter connection_limit: %d is not 1 to %d, the bound of class %s", limit, bound, class))
	}
	return limit, ps.Done()
}

func portOr(port, def string) string {
	if _, err := strconv.Atoi(port); err != nil {
		return def
	}
	return port
}
