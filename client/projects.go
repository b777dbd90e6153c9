package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/godocker/godocker/api"
)

// Projects lists every project, the default one included, by name.
func (c *Client) Projects(ctx context.Context) ([]*api.Project, error) {
	var ps []*api.Project
	if err := c.do(ctx, http.MethodGet, "/api/v1/projects", nil, nil, &ps); err != nil {
		return nil, err
	}
	return ps, nil
}

// Project returns one project; an unknown name is an error matching
// api.ErrNotFound.
func (c *Client) Project(ctx context.Context, name string) (*api.Project, error) {
	var p api.Project
	if err := c.do(ctx, http.MethodGet, "/api/v1/projects/"+url.PathEscape(name), nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// CreateProject creates a project (admins only); a name in use is an
// error matching api.ErrConflict.
func (c *Client) CreateProject(ctx context.Context, p api.Project) (*api.Project, error) {
	var out api.Project
	if err := c.do(ctx, http.MethodPost, "/api/v1/projects", nil, p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateProject replaces the project named p.Name with p (admins only).
func (c *Client) UpdateProject(ctx context.Context, p api.Project) (*api.Project, error) {
	var out api.Project
	if err := c.do(ctx, http.MethodPut, "/api/v1/projects/"+url.PathEscape(p.Name), nil, p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteProject removes a project that no waiting or running job uses
// (admins only).
func (c *Client) DeleteProject(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/projects/"+url.PathEscape(name), nil, nil, nil)
}

// Accounts lists the users who have an account (a priority or a quota
// set), by name.
func (c *Client) Accounts(ctx context.Context) ([]*api.Account, error) {
	var as []*api.Account
	if err := c.do(ctx, http.MethodGet, "/api/v1/accounts", nil, nil, &as); err != nil {
		return nil, err
	}
	return as, nil
}

// Account returns a user's account; a user with none set gets the
// defaults (priority 50, no quota).
func (c *Client) Account(ctx context.Context, user string) (*api.Account, error) {
	var a api.Account
	if err := c.do(ctx, http.MethodGet, "/api/v1/accounts/"+url.PathEscape(user), nil, nil, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// PutAccount replaces a.User's account with a (admins only).
func (c *Client) PutAccount(ctx context.Context, a api.Account) (*api.Account, error) {
	var out api.Account
	if err := c.do(ctx, http.MethodPut, "/api/v1/accounts/"+url.PathEscape(a.User), nil, a, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Usage reports what each user and project used recently, as fair share
// weighs it.
func (c *Client) Usage(ctx context.Context) (*api.UsageReport, error) {
	var u api.UsageReport
	if err := c.do(ctx, http.MethodGet, "/api/v1/usage", nil, nil, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// Quotas reports the current quota period and every budget set, with
// what was used of it.
func (c *Client) Quotas(ctx context.Context) (*api.QuotaReport, error) {
	var q api.QuotaReport
	if err := c.do(ctx, http.MethodGet, "/api/v1/quotas", nil, nil, &q); err != nil {
		return nil, err
	}
	return &q, nil
}
