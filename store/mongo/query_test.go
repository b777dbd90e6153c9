package mongo

import (
	"reflect"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

func in(values ...any) bson.D { return bson.D{{Key: "$in", Value: bson.A(values)}} }

// TestFindJobs: the filter, order and limit of each shape of store.Query
// that gstat, the scheduler and the server make.
func TestFindJobs(t *testing.T) {
	for _, tt := range []struct {
		name   string
		q      store.Query
		filter bson.D
		limit  int64
	}{
		{"everything", store.Query{}, bson.D{}, 0},
		{"empty lists select everything", store.Query{IDs: []int64{}, Users: []string{}, States: []api.State{}, Arrays: []int64{}, Tasks: []int64{}}, bson.D{}, 0},
		{"gstat -j ID", store.Query{IDs: []int64{12}}, bson.D{{Key: "_id", Value: int64(12)}}, 0},
		{"dependencies", store.Query{IDs: []int64{7, 3, 7}}, bson.D{{Key: "_id", Value: in(int64(7), int64(3), int64(7))}}, 0},
		{"gstat -u", store.Query{Users: []string{"alice"}}, bson.D{{Key: "user", Value: "alice"}}, 0},
		{"scheduler: pending", store.Query{States: []api.State{api.Pending}}, bson.D{{Key: "state", Value: "pending"}}, 0},
		{"watcher: active", store.Query{States: []api.State{api.Running, api.Suspended}}, bson.D{{Key: "state", Value: in("running", "suspended")}}, 0},
		{"per-user limit", store.Query{Users: []string{"bob"}, States: []api.State{api.Running, api.Suspended}},
			bson.D{{Key: "user", Value: "bob"}, {Key: "state", Value: in("running", "suspended")}}, 0},
		{"users and state", store.Query{Users: []string{"carol", "alice"}, States: []api.State{api.Held}},
			bson.D{{Key: "user", Value: in("carol", "alice")}, {Key: "state", Value: "held"}}, 0},
		{"plain jobs", store.Query{Arrays: []int64{0}}, bson.D{{Key: "array_id", Value: int64(0)}}, 0},
		{"tasks of an array", store.Query{Arrays: []int64{40}}, bson.D{{Key: "array_id", Value: int64(40)}}, 0},
		{"gdel ID.TASK", store.Query{Arrays: []int64{40}, Tasks: []int64{3}}, bson.D{{Key: "array_id", Value: int64(40)}, {Key: "task_id", Value: int64(3)}}, 0},
		{"tasks of arrays in states", store.Query{Arrays: []int64{40, 50}, States: []api.State{api.Running}},
			bson.D{{Key: "state", Value: "running"}, {Key: "array_id", Value: in(int64(40), int64(50))}}, 0},
		{"tasks alone", store.Query{Tasks: []int64{1, 2}}, bson.D{{Key: "task_id", Value: in(int64(1), int64(2))}}, 0},
		{"every field", store.Query{IDs: []int64{1, 2}, Users: []string{"a"}, States: []api.State{api.Done}, Arrays: []int64{9}, Tasks: []int64{4}, Limit: 3},
			bson.D{{Key: "_id", Value: in(int64(1), int64(2))}, {Key: "user", Value: "a"}, {Key: "state", Value: "done"}, {Key: "array_id", Value: int64(9)}, {Key: "task_id", Value: int64(4)}}, 3},
		{"gstat -n", store.Query{Limit: 5}, bson.D{}, 5},
		{"limit with states", store.Query{States: []api.State{api.Done, api.Failed}, Limit: 3}, bson.D{{Key: "state", Value: in("done", "failed")}}, 3},
		{"negative limit: none", store.Query{Limit: -1}, bson.D{}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := findJobs(tt.q)
			if !reflect.DeepEqual(f.Filter, tt.filter) {
				t.Errorf("filter %v, want %v", f.Filter, tt.filter)
			}
			if !reflect.DeepEqual(jobsFilter(tt.q), tt.filter) {
				t.Errorf("Count's filter %v, want %v", jobsFilter(tt.q), tt.filter)
			}
			if want := (bson.D{{Key: "_id", Value: 1}}); !reflect.DeepEqual(f.Sort, want) {
				t.Errorf("sort %v, want %v", f.Sort, want)
			}
			if f.Limit != tt.limit {
				t.Errorf("limit %d, want %d", f.Limit, tt.limit)
			}
			// What the driver is given.
			var o options.FindOptions
			for _, set := range f.options().List() {
				if err := set(&o); err != nil {
					t.Fatal(err)
				}
			}
			if !reflect.DeepEqual(o.Sort, f.Sort) {
				t.Errorf("driver's sort %v, want %v", o.Sort, f.Sort)
			}
			switch {
			case tt.limit == 0 && o.Limit != nil:
				t.Errorf("driver's limit %d, want none", *o.Limit)
			case tt.limit != 0 && (o.Limit == nil || *o.Limit != tt.limit):
				t.Errorf("driver's limit %v, want %d", o.Limit, tt.limit)
			}
			// The filter's values are of the types stored (int64 ids,
			// strings), so that they compare equal on the server.
			if _, err := bson.Marshal(f.Filter); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestFindJobsManyIDs: the scheduler's dependency lists may name tens of
// thousands of ids; they go as one $in, far below MongoDB's 16 MiB.
func TestFindJobsManyIDs(t *testing.T) {
	var q store.Query
	for i := range int64(40000) {
		q.IDs = append(q.IDs, i+1)
	}
	b, err := bson.Marshal(findJobs(q).Filter)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 1<<20 {
		t.Errorf("the filter of 40,000 ids is %d bytes", len(b))
	}
}

func TestKeysFind(t *testing.T) {
	order := bson.D{{Key: "user", Value: 1}, {Key: "added", Value: 1}, {Key: "fingerprint", Value: 1}}
	filter, sort := keysFind("")
	if len(filter) != 0 || !reflect.DeepEqual(sort, order) {
		t.Errorf("everybody's keys: filter %v, sort %v", filter, sort)
	}
	filter, sort = keysFind("a.b")
	if !reflect.DeepEqual(filter, bson.D{{Key: "user", Value: "a.b"}}) || !reflect.DeepEqual(sort, order) {
		t.Errorf("a.b's keys: filter %v, sort %v", filter, sort)
	}
	if name := indexFor(keysColl, append(filter, sort...)); name != "user_added_fingerprint" {
		t.Errorf("keys are listed through %q, want user_added_fingerprint", name)
	}
}

func TestVersionFilter(t *testing.T) {
	if got, want := versionFilter(int64(4), 7), (bson.D{{Key: "_id", Value: int64(4)}, {Key: "version", Value: int64(7)}}); !reflect.DeepEqual(got, want) {
		t.Errorf("versionFilter(4, 7) = %v, want %v", got, want)
	}
	// A document written by hand, without a version: null matches a
	// missing field.
	got := versionFilter("p", 0)
	if want := (bson.D{{Key: "_id", Value: "p"}, {Key: "version", Value: in(int64(0), nil)}}); !reflect.DeepEqual(got, want) {
		t.Errorf("versionFilter(p, 0) = %v, want %v", got, want)
	}
}

// indexFor names the index of coll in Indexes (or _id_) whose leading
// keys the filter's fields cover the most of; "" if none leads with one
// of them.
func indexFor(coll string, filter bson.D) string {
	fields := map[string]bool{}
	for _, e := range filter {
		fields[e.Key] = true
	}
	best, bestLen := "", 0
	if fields["_id"] {
		best, bestLen = "_id_", 1
	}
	for _, m := range Indexes()[coll] {
		n := 0
		for _, k := range m.Keys.(bson.D) {
			if !fields[k.Key] {
				break
			}
			n++
		}
		if n > bestLen {
			best, bestLen = indexName(m.Options), n
		}
	}
	return best
}

func indexName(b *options.IndexOptionsBuilder) string {
	var o options.IndexOptions
	for _, set := range b.List() {
		_ = set(&o)
	}
	if o.Name == nil {
		return ""
	}
	return *o.Name
}

// TestQueriesUseIndexes: every query gstat and the scheduler make often
// leads with an indexed field, and the index ends in _id so that id order
// comes from it.
func TestQueriesUseIndexes(t *testing.T) {
	for _, tt := range []struct {
		q     store.Query
		index string
	}{
		{store.Query{IDs: []int64{1, 2}}, "_id_"},
		{store.Query{States: []api.State{api.Pending}}, "state_id"},
		{store.Query{States: []api.State{api.Running, api.Suspended}, Limit: 10}, "state_id"},
		{store.Query{Users: []string{"alice"}}, "user_state_id"},
		{store.Query{Users: []string{"alice"}, States: []api.State{api.Running}}, "user_state_id"},
		{store.Query{Arrays: []int64{40}}, "array_task_id"},
		{store.Query{Arrays: []int64{40}, Tasks: []int64{3}}, "array_task_id"},
		{store.Query{Arrays: []int64{0}}, "array_task_id"},
	} {
		if got := indexFor(jobsColl, jobsFilter(tt.q)); got != tt.index {
			t.Errorf("%+v: index %q, want %q", tt.q, got, tt.index)
		}
	}
}

func TestIndexes(t *testing.T) {
	type def struct {
		keys   []string
		unique bool
	}
	want := map[string]map[string]def{
		"jobs": {
			"state_id":      {[]string{"state", "_id"}, false},
			"user_state_id": {[]string{"user", "state", "_id"}, false},
			"array_task_id": {[]string{"array_id", "task_id", "_id"}, false},
		},
		"keys": {
			"user_fingerprint":       {[]string{"user", "fingerprint"}, true},
			"user_added_fingerprint": {[]string{"user", "added", "fingerprint"}, false},
		},
	}
	got := map[string]map[string]def{}
	for coll, models := range Indexes() {
		got[coll] = map[string]def{}
		for _, m := range models {
			var o options.IndexOptions
			for _, set := range m.Options.List() {
				if err := set(&o); err != nil {
					t.Fatal(err)
				}
			}
			if o.Name == nil {
				t.Fatalf("%s: an index without a name: Open could not tell it exists", coll)
			}
			var d def
			for _, k := range m.Keys.(bson.D) {
				if k.Value != 1 {
					t.Errorf("%s.%s: key %s is %v, want ascending", coll, *o.Name, k.Key, k.Value)
				}
				d.keys = append(d.keys, k.Key)
			}
			d.unique = o.Unique != nil && *o.Unique
			if _, dup := got[coll][*o.Name]; dup {
				t.Errorf("%s: two indexes named %s", coll, *o.Name)
			}
			got[coll][*o.Name] = d
			// Nothing in them the server would refuse.
			if o.Sparse != nil || o.PartialFilterExpression != nil || o.ExpireAfterSeconds != nil {
				t.Errorf("%s.%s: unexpected options %+v", coll, *o.Name, o)
			}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Indexes() = %+v,\nwant %+v", got, want)
	}
}
