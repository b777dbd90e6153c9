package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// Each project is one row of projects, its name and the api.Project in
// JSON; each account one row of accounts, the user name and the
// api.Account in JSON. Names compare as bytes (SQLite's BINARY collation):
// they are case-sensitive and sort as Go's strings do.

// Projects returns every stored project, in name order.
func (s *Store) Projects(ctx context.Context) ([]*api.Project, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT name, project FROM projects ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	defer rows.Close()
	var projects []*api.Project
	for rows.Next() {
		var (
			name string
			doc  sql.RawBytes
		)
		if err := rows.Scan(&name, &doc); err != nil {
			return nil, fmt.Errorf("list projects: %w", err)
		}
		p, err := decodeProject(name, doc)
		if err != nil {
			return nil, fmt.Errorf("list projects: project %s: %w", name, err)
		}
		projects = append(projects, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return projects, nil
}

// Project returns the project of that name.
func (s *Store) Project(ctx context.Context, name string) (*api.Project, error) {
	var doc []byte
	err := s.queryRow(ctx, "SELECT project FROM projects WHERE name = ?", name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read project %s: %w", name, err)
	}
	p, err := decodeProject(name, doc)
	if err != nil {
		return nil, fmt.Errorf("read project %s: %w", name, err)
	}
	return p, nil
}

// CreateProject stores a new project.
func (s *Store) CreateProject(ctx context.Context, p *api.Project) error {
	if p == nil {
		return errors.New("create project: nil project")
	}
	if p.Name == "" {
		return errors.New("create project: no name")
	}
	if err := s.createProject(ctx, p); err != nil {
		return fmt.Errorf("create project %s: %w", p.Name, err)
	}
	return nil
}

func (s *Store) createProject(ctx context.Context, p *api.Project) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx,
		"INSERT INTO projects (name, project) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
		p.Name, string(doc))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return store.ErrExists
	}
	return nil
}

// UpdateProject applies fn to the project in one IMMEDIATE transaction on
// the writing connection, as UpdateJob does: fn must be quick and must not
// call the Store's writing methods.
func (s *Store) UpdateProject(ctx context.Context, name string, fn func(*api.Project) error) (*api.Project, error) {
	p, err := s.updateProject(ctx, name, fn)
	var fnErr fnError
	if errors.As(err, &fnErr) {
		return nil, fnErr.err // unchanged, as store.Store promises
	}
	if err != nil {
		return nil, fmt.Errorf("update project %s: %w", name, err)
	}
	return p, nil
}

func (s *Store) updateProject(ctx context.Context, name string, fn func(*api.Project) error) (*api.Project, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var doc []byte
	err = tx.QueryRowContext(ctx, "SELECT project FROM projects WHERE name = ?", name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	p, err := decodeProject(name, doc)
	if err != nil {
		return nil, err
	}
	if err := fn(p); err != nil {
		return nil, fnError{err}
	}
	if p.Name != name {
		return nil, fmt.Errorf("the update changed the project's name to %q", p.Name)
	}
	if doc, err = json.Marshal(p); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE projects SET project = ? WHERE name = ?", string(doc), name); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	// fn may have kept p; what we hand back is the caller's own.
	return p.Clone(), nil
}

// DeleteProject removes the project of that name.
func (s *Store) DeleteProject(ctx context.Context, name string) error {
	if err := s.deleteProject(ctx, name); err != nil {
		return fmt.Errorf("delete project %s: %w", name, err)
	}
	return nil
}

func (s *Store) deleteProject(ctx context.Context, name string) error {
	res, err := s.w.ExecContext(ctx, "DELETE FROM projects WHERE name = ?", name)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// Accounts returns every stored account, in user name order.
func (s *Store) Accounts(ctx context.Context) ([]*api.Account, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT user, account FROM accounts ORDER BY user")
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var accounts []*api.Account
	for rows.Next() {
		var (
			user string
			doc  sql.RawBytes
		)
		if err := rows.Scan(&user, &doc); err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		a, err := decodeAccount(user, doc)
		if err != nil {
			return nil, fmt.Errorf("list accounts: account of %s: %w", user, err)
		}
		accounts = append(accounts, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return accounts, nil
}

// Account returns the account of user.
func (s *Store) Account(ctx context.Context, user string) (*api.Account, error) {
	var doc []byte
	err := s.queryRow(ctx, "SELECT account FROM accounts WHERE user = ?", user).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read account of %s: %w", user, err)
	}
	a, err := decodeAccount(user, doc)
	if err != nil {
		return nil, fmt.Errorf("read account of %s: %w", user, err)
	}
	return a, nil
}

// PutAccount stores a.User's account, replacing any.
func (s *Store) PutAccount(ctx context.Context, a *api.Account) error {
	if a == nil {
		return errors.New("write account: nil account")
	}
	if a.User == "" {
		return errors.New("write account: no user name")
	}
	if err := s.putAccount(ctx, a); err != nil {
		return fmt.Errorf("write account of %s: %w", a.User, err)
	}
	return nil
}

func (s *Store) putAccount(ctx context.Context, a *api.Account) error {
	doc, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx,
		"INSERT INTO accounts (user, account) VALUES (?, ?) ON CONFLICT (user) DO UPDATE SET account = excluded.account",
		a.User, string(doc))
	return err
}

func decodeProject(name string, doc []byte) (*api.Project, error) {
	p := new(api.Project)
	if err := json.Unmarshal(doc, p); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if p.Name != name {
		return nil, fmt.Errorf("decode: row %q holds project %q", name, p.Name)
	}
	return p, nil
}

func decodeAccount(user string, doc []byte) (*api.Account, error) {
	a := new(api.Account)
	if err := json.Unmarshal(doc, a); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if a.User != user {
		return nil, fmt.Errorf("decode: row %q holds the account of %q", user, a.User)
	}
	return a, nil
}
