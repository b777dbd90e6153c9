package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// Each project is one document of projects, {_id: name, version, ops,
// project}, and each account one of accounts, {_id: user, account}, the
// api.Project and api.Account as encodeDoc stores them. Names compare as
// bytes (MongoDB's default, simple collation): case-sensitive, and listed
// in the order of Go's string comparison.

// projectDoc is a document of projects.
type projectDoc struct {
	Name    string          `bson:"_id"`
	Version int64           `bson:"version"` // as jobDoc's
	Ops     []bson.ObjectID `bson:"ops"`
	Project bson.Raw        `bson:"project"`
}

func newProjectDoc(p *api.Project, version int64, ops []bson.ObjectID) (*projectDoc, error) {
	raw, err := encodeDoc(p)
	if err != nil {
		return nil, err
	}
	return &projectDoc{Name: p.Name, Version: version, Ops: ops, Project: raw}, nil
}

func (d *projectDoc) project() (*api.Project, error) {
	p := new(api.Project)
	if err := decodeDoc(d.Project, p); err != nil {
		return nil, err
	}
	if p.Name != d.Name {
		return nil, fmt.Errorf("decode: document %q holds project %q", d.Name, p.Name)
	}
	return p, nil
}

// projectCodec reads and writes projects for update.
var projectCodec = codec[api.Project]{
	decode: func(raw bson.Raw) (*api.Project, int64, []bson.ObjectID, error) {
		var d projectDoc
		if err := bson.Unmarshal(raw, &d); err != nil {
			return nil, 0, nil, fmt.Errorf("decode: %w", err)
		}
		p, err := d.project()
		return p, d.Version, d.Ops, err
	},
	encode: func(p *api.Project, version int64, ops []bson.ObjectID) (any, error) {
		return newProjectDoc(p, version, ops)
	},
	clone: (*api.Project).Clone,
}

// byID lists a collection in _id order.
var byID = options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})

// Projects returns every stored project, in name order.
func (s *Store) Projects(ctx context.Context) ([]*api.Project, error) {
	var projects []*api.Project
	err := s.retry(ctx, "list projects", func(ctx context.Context, _ bool) error {
		projects = nil
		cur, err := s.projects.Find(ctx, bson.D{}, byID)
		if err != nil {
			return err
		}
		defer cur.Close(ctx)
		for cur.Next(ctx) {
			var d projectDoc
			if err := cur.Decode(&d); err != nil {
				return err
			}
			p, err := d.project()
			if err != nil {
				return fmt.Errorf("project %s: %w", d.Name, err)
			}
			projects = append(projects, p)
		}
		return cur.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return projects, nil
}

// Project returns the project of that name.
func (s *Store) Project(ctx context.Context, name string) (*api.Project, error) {
	var d projectDoc
	err := s.retry(ctx, "read project", func(ctx context.Context, _ bool) error {
		return s.projects.FindOne(ctx, idFilter(name)).Decode(&d)
	})
	if errors.Is(err, mongo.ErrNoDocuments) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read project %s: %w", name, err)
	}
	p, err := d.project()
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
	op := bson.NewObjectID()
	d, err := newProjectDoc(p, 1, []bson.ObjectID{op})
	if err != nil {
		return err
	}
	return s.retry(ctx, "create project", func(ctx context.Context, retried bool) error {
		_, err := s.projects.InsertOne(ctx, d)
		if mongo.IsDuplicateKeyError(err) {
			if retried && s.landed(ctx, s.projects, idFilter(p.Name), op) {
				return nil
			}
			return store.ErrExists
		}
		return err
	})
}

// UpdateProject applies fn to the project by optimistic concurrency, as
// UpdateJob does: fn may run more than once.
func (s *Store) UpdateProject(ctx context.Context, name string, fn func(*api.Project) error) (*api.Project, error) {
	p, err := update(ctx, s, "update project", s.projects, name, projectCodec, fn, func(p *api.Project) error {
		if p.Name != name {
			return fmt.Errorf("the update changed the project's name to %q", p.Name)
		}
		return nil
	})
	var fnErr fnError
	if errors.As(err, &fnErr) {
		return nil, fnErr.err // unchanged, as store.Store promises
	}
	if err != nil {
		return nil, fmt.Errorf("update project %s: %w", name, err)
	}
	return p, nil
}

// DeleteProject removes the project of that name.
func (s *Store) DeleteProject(ctx context.Context, name string) error {
	err := s.retry(ctx, "delete project", func(ctx context.Context, retried bool) error {
		res, err := s.projects.DeleteOne(ctx, idFilter(name))
		if err != nil {
			return err
		}
		if res.DeletedCount == 0 && !retried {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete project %s: %w", name, err)
	}
	return nil
}

// accountDoc is a document of accounts.
type accountDoc struct {
	User    string   `bson:"_id"`
	Account bson.Raw `bson:"account"`
}

func (d *accountDoc) account() (*api.Account, error) {
	a := new(api.Account)
	if err := decodeDoc(d.Account, a); err != nil {
		return nil, err
	}
	if a.User != d.User {
		return nil, fmt.Errorf("decode: document %q holds the account of %q", d.User, a.User)
	}
	return a, nil
}

// Accounts returns every stored account, in user name order.
func (s *Store) Accounts(ctx context.Context) ([]*api.Account, error) {
	var accounts []*api.Account
	err := s.retry(ctx, "list accounts", func(ctx context.Context, _ bool) error {
		accounts = nil
		cur, err := s.accounts.Find(ctx, bson.D{}, byID)
		if err != nil {
			return err
		}
		defer cur.Close(ctx)
		for cur.Next(ctx) {
			var d accountDoc
			if err := cur.Decode(&d); err != nil {
				return err
			}
			a, err := d.account()
			if err != nil {
				return fmt.Errorf("account of %s: %w", d.User, err)
			}
			accounts = append(accounts, a)
		}
		return cur.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return accounts, nil
}

// Account returns the account of user.
func (s *Store) Account(ctx context.Context, user string) (*api.Account, error) {
	var d accountDoc
	err := s.retry(ctx, "read account", func(ctx context.Context, _ bool) error {
		return s.accounts.FindOne(ctx, idFilter(user)).Decode(&d)
	})
	if errors.Is(err, mongo.ErrNoDocuments) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read account of %s: %w", user, err)
	}
	a, err := d.account()
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
	raw, err := encodeDoc(a)
	if err != nil {
		return err
	}
	d := &accountDoc{User: a.User, Account: raw}
	return s.retry(ctx, "write account", func(ctx context.Context, _ bool) error {
		_, err := s.accounts.ReplaceOne(ctx, idFilter(a.User), d, options.Replace().SetUpsert(true))
		return err
	})
}
