package adapters

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// scramVerifier is what PostgreSQL stores for a SCRAM-SHA-256 password.
// Sending it instead of the password keeps the password out of the
// server's statement logs; the role logs in with the password as usual.
func scramVerifier(password string) (string, error) {
	const iterations = 4096
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("scram salt: %w", err)
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("scram key: %w", err)
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(storedKey[:]), b64(serverKey)), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// ident quotes a SQL identifier.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// literal quotes a SQL string literal (DDL takes no bind parameters).
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// pgClassify marks what a retry cannot cure as permanent. Connection
// trouble, lost races (duplicate object), deadlocks, too many
// connections and server shutdowns stay transient.
func pgClassify(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err // connection trouble, or unknown: the bus retries
	}
	switch {
	case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "40"), strings.HasPrefix(pe.Code, "53"),
		strings.HasPrefix(pe.Code, "57P"), pe.Code == "55P03", pe.Code == "55006",
		pe.Code == "42710", pe.Code == "42P04", pe.Code == "23505":
		return err
	case pe.Code == "XX000" && strings.Contains(pe.Message, "concurrently"):
		return err // two GRANTs on one object at once: "tuple concurrently updated"
	}
	return domain.Permanent(err)
}

// pgObjects is what the server holds under one name.
type pgObjects struct {
	Role bool
	// DB is a database one can connect to.
	DB bool
	// HalfDropped is a database whose DROP was interrupted (the session
	// ended or the server stopped half-way): PostgreSQL marks it invalid
	// (datconnlimit -2) before it removes the files, refuses every
	// connection to it (SQLSTATE 55000) and allows only DROP DATABASE.
	HalfDropped bool
}

func pgExists(ctx context.Context, conn *pgx.Conn, name string) (pgObjects, error) {
	var o pgObjects
	err := conn.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1),
		EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datconnlimit <> -2),
		EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datconnlimit = -2)`, name).Scan(&o.Role, &o.DB, &o.HalfDropped)
	if err != nil {
		return pgObjects{}, fmt.Errorf("look up %s: %w", name, pgClassify(err))
	}
	return o, nil
}

// pgExec runs statements one by one: CREATE and DROP DATABASE cannot run
// inside a transaction, and each statement is idempotent on a retry.
func pgExec(ctx context.Context, conn *pgx.Conn, stmts ...string) error {
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return pgClassify(err)
		}
	}
	return nil
}

// pgTerminate ends every session of the role or in the database name.
func pgTerminate(ctx context.Context, conn *pgx.Conn, name string) error {
	_, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE (datname = $1 OR usename = $1) AND pid <> pg_backend_pid()`, name)
	if err != nil {
		return fmt.Errorf("end sessions of %s: %w", name, pgClassify(err))
	}
	return nil
}

func pgDropDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	if err := pgTerminate(ctx, conn, name); err != nil {
		return err
	}
	// FORCE (PostgreSQL 13+) ends sessions that connected after terminate.
	if err := pgExec(ctx, conn, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", ident(name))); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// pgDropRole stops new logins first, ends sessions, drops what the role
// still owns or was granted in the admin database, then the role.
func pgDropRole(ctx context.Context, conn *pgx.Conn, name string) error {
	err := pgExec(ctx, conn, fmt.Sprintf("ALTER ROLE %s NOLOGIN", ident(name)))
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42704" { // undefined_object: already gone
		return nil
	}
	if err != nil {
		return fmt.Errorf("lock out role %s: %w", name, err)
	}
	if err := pgTerminate(ctx, conn, name); err != nil {
		return err
	}
	if err := pgExec(ctx, conn, "DROP OWNED BY "+ident(name), "DROP ROLE IF EXISTS "+ident(name)); err != nil {
		return fmt.Errorf("drop role %s: %w", name, err)
	}
	return nil
}
