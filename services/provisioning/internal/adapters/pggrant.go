package adapters

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

var _ app.GrantDriver = (*Postgres)(nil)

// Privileges of grant logins on the tables and sequences of the
// resource's database (schema public), now and for tables the resource's
// own role creates later.
const (
	pgReadTables   = "SELECT"
	pgWriteTables  = "SELECT, INSERT, UPDATE, DELETE, TRUNCATE"
	pgReadSeqs     = "SELECT"
	pgWriteSeqs    = "USAGE, SELECT, UPDATE"
	pgPublicSchema = "public"
)

// IssueGrant creates (or resets) login role name with a new password,
// valid until until, that may connect to the resource's database and read
// (or read and write) its tables.
func (p *Postgres) IssueGrant(ctx context.Context, resourceID, name string, writes bool, until time.Time) (domain.Credentials, error) {
	db := domain.ObjectName(resourceID)
	password, err := newPassword()
	if err != nil {
		return domain.Credentials{}, err
	}
	verifier, err := scramVerifier(password)
	if err != nil {
		return domain.Credentials{}, err
	}
	conn, err := p.connect(ctx, "")
	if err != nil {
		return domain.Credentials{}, err
	}
	defer closeConn(conn)
	grantee, err := pgExists(ctx, conn, name)
	if err != nil {
		return domain.Credentials{}, err
	}
	if target, err := pgExists(ctx, conn, db); err != nil || !target.DB {
		return domain.Credentials{}, orMissing(err, "database "+db)
	}
	verb := "CREATE"
	if grantee.Role {
		verb = "ALTER"
	}
	// VALID UNTIL is the server's own stop, should the revocation be late.
	if err := pgExec(ctx, conn,
		fmt.Sprintf("%s ROLE %s LOGIN NOINHERIT PASSWORD %s VALID UNTIL %s", verb, ident(name), literal(verifier),
			literal(until.UTC().Format(time.RFC3339))),
		fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s", ident(db), ident(name))); err != nil {
		return domain.Credentials{}, fmt.Errorf("create grant role %s: %w", name, err)
	}
	if err := p.grantInside(ctx, db, name, writes); err != nil {
		return domain.Credentials{}, err
	}
	return domain.Credentials{Username: name, Password: password, URL: p.grantURL(db, name, password)}, nil
}

func (p *Postgres) grantInside(ctx context.Context, db, name string, writes bool) error {
	tables, seqs := pgReadTables, pgReadSeqs
	if writes {
		tables, seqs = pgWriteTables, pgWriteSeqs
	}
	inside, err := p.connect(ctx, db)
	if err != nil {
		return err
	}
	defer closeConn(inside)
	schema, owner, role := ident(pgPublicSchema), ident(db), ident(name)
	if err := pgExec(ctx, inside,
		fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s", schema, role),
		fmt.Sprintf("GRANT %s ON ALL TABLES IN SCHEMA %s TO %s", tables, schema, role),
		fmt.Sprintf("GRANT %s ON ALL SEQUENCES IN SCHEMA %s TO %s", seqs, schema, role),
		fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT %s ON TABLES TO %s", owner, schema, tables, role),
		fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT %s ON SEQUENCES TO %s", owner, schema, seqs, role),
	); err != nil {
		return fmt.Errorf("grant %s on database %s: %w", name, db, err)
	}
	return nil
}

// RevokeGrant locks role name out, ends its sessions, drops its rights in
// the resource's database and on the server, then the role.
func (p *Postgres) RevokeGrant(ctx context.Context, resourceID, name string) error {
	err := p.revokeGrant(ctx, resourceID, name)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42704" { // undefined_object: dropped meanwhile by another handler
		return nil
	}
	return err
}

func (p *Postgres) revokeGrant(ctx context.Context, resourceID, name string) error {
	conn, err := p.connect(ctx, "")
	if err != nil {
		return err
	}
	defer closeConn(conn)
	// One drop of a role at a time: two at once make PostgreSQL fail one
	// with "tuple concurrently updated". The lock ends with the session.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtextextended($1, 0))", "pave-grant:"+name); err != nil {
		return pgClassify(fmt.Errorf("lock role %s: %w", name, err))
	}
	grantee, err := pgExists(ctx, conn, name)
	if err != nil || !grantee.Role {
		return err
	}
	if err := pgExec(ctx, conn, fmt.Sprintf("ALTER ROLE %s NOLOGIN", ident(name))); err != nil {
		return fmt.Errorf("lock out role %s: %w", name, err)
	}
	if err := pgTerminate(ctx, conn, name); err != nil {
		return err
	}
	if resourceID != "" {
		db := domain.ObjectName(resourceID)
		if target, err := pgExists(ctx, conn, db); err != nil {
			return err
		} else if target.DB {
			if err := p.dropOwnedInside(ctx, db, name); err != nil {
				return err
			}
		}
	}
	return pgDropRole(ctx, conn, name)
}

func (p *Postgres) dropOwnedInside(ctx context.Context, db, name string) error {
	inside, err := p.connect(ctx, db)
	if err != nil {
		return err
	}
	defer closeConn(inside)
	if err := pgExec(ctx, inside, "DROP OWNED BY "+ident(name)); err != nil {
		return fmt.Errorf("drop rights of %s in %s: %w", name, db, err)
	}
	return nil
}

// Logins lists the roles, other than the database's owner, that hold a
// right on the resource's database or are members of its owner role.
func (p *Postgres) Logins(ctx context.Context, resourceID string) ([]string, error) {
	db := domain.ObjectName(resourceID)
	conn, err := p.connect(ctx, "")
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)
	rows, err := conn.Query(ctx, `
		SELECT r.rolname FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a
			JOIN pg_roles r ON r.oid = a.grantee
			WHERE d.datname = $1 AND a.grantee <> d.datdba
		UNION
		SELECT r.rolname FROM pg_auth_members m JOIN pg_roles o ON o.oid = m.roleid
			JOIN pg_roles r ON r.oid = m.member WHERE o.rolname = $1
		ORDER BY 1`, db)
	if err != nil {
		return nil, fmt.Errorf("list roles on %s: %w", db, pgClassify(err))
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list roles on %s: %w", db, pgClassify(err))
	}
	return names, nil
}

// GrantNames lists the roles named with domain.GrantPrefix.
func (p *Postgres) GrantNames(ctx context.Context) ([]string, error) {
	conn, err := p.connect(ctx, "")
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)
	rows, err := conn.Query(ctx, `SELECT rolname FROM pg_roles WHERE left(rolname, length($1)) = $1 ORDER BY 1`, domain.GrantPrefix)
	if err != nil {
		return nil, fmt.Errorf("list grant roles: %w", pgClassify(err))
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list grant roles: %w", pgClassify(err))
	}
	return names, nil
}

// Strip takes role name's rights on the resource's database away (and
// its membership of the owner role), and ends its sessions there. The
// role stays: it is not Pave's.
func (p *Postgres) Strip(ctx context.Context, resourceID, name string) error {
	db := domain.ObjectName(resourceID)
	conn, err := p.connect(ctx, "")
	if err != nil {
		return err
	}
	defer closeConn(conn)
	role := ident(name)
	if err := pgExec(ctx, conn,
		fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM %s CASCADE", ident(db), role),
		fmt.Sprintf("REVOKE %s FROM %s CASCADE", ident(db), role)); err != nil {
		return fmt.Errorf("revoke rights of %s on %s: %w", name, db, err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND usename = $2`, db, name); err != nil {
		return fmt.Errorf("end sessions of %s in %s: %w", name, db, pgClassify(err))
	}
	if target, err := pgExists(ctx, conn, db); err != nil || !target.DB {
		return err // gone or half-dropped: nothing inside is reachable
	}
	inside, err := p.connect(ctx, db)
	if err != nil {
		return err
	}
	defer closeConn(inside)
	schema, owner := ident(pgPublicSchema), ident(db)
	if err := pgExec(ctx, inside,
		fmt.Sprintf("REVOKE ALL ON ALL TABLES IN SCHEMA %s FROM %s CASCADE", schema, role),
		fmt.Sprintf("REVOKE ALL ON ALL SEQUENCES IN SCHEMA %s FROM %s CASCADE", schema, role),
		fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s REVOKE ALL ON TABLES FROM %s", owner, schema, role),
		fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s REVOKE ALL ON SEQUENCES FROM %s", owner, schema, role),
	); err != nil {
		return fmt.Errorf("revoke rights of %s inside %s: %w", name, db, err)
	}
	return nil
}

// grantURL is the admin URL with a grant login and the resource's database.
func (p *Postgres) grantURL(db, name, password string) string {
	u := *p.admin
	u.User = url.UserPassword(name, password)
	u.Path = "/" + db
	q := u.Query()
	q.Del("user")
	q.Del("password")
	u.RawQuery = q.Encode()
	return u.String()
}

// orMissing is err, or a permanent error naming what is missing.
func orMissing(err error, what string) error {
	if err != nil {
		return err
	}
	return domain.Permanent(fmt.Errorf("%s does not exist", what))
}
