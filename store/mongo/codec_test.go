package mongo

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store/storetest"
)

// fullJob is storetest's job with every field set, plus map keys MongoDB
// reads as paths and operators, and keys that look like this package's
// escapes.
func fullJob(id int64) *api.Job {
	j := storetest.FullJob(id)
	for k, v := range map[string]string{"50%.off": "%2E", "$": "", ".": "", "a..b": "x", "nul\x00key": "y", "%24": "not an escape"} {
		j.Spec.Env[k] = v
	}
	return j
}

func fullProject(name string) *api.Project { return storetest.FullProject(name) }

func fullAccount(user string) *api.Account { return storetest.FullAccount(user) }

func fullKey(user, fingerprint string) *api.Key {
	return &api.Key{
		User:        user,
		Fingerprint: fingerprint,
		Type:        "ssh-ed25519",
		Key:         "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOdG3r0S6vM3sJ9b0kYq2j7mM0e0m4p1rG2QnVwz9C1t",
		Comment:     "alice@laptop \"it's\" ñ; $set",
		Added:       time.Date(2026, 2, 3, 4, 5, 6, 789012345, time.FixedZone("NPT", 5*3600+2700)),
	}
}

func check[T any](t *testing.T, what string, got, want *T) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil", what)
	}
	if d := storetest.Differences(*got, *want); len(d) > 0 {
		t.Errorf("%s differs:\n\t%s", what, strings.Join(d, "\n\t"))
	}
}

func TestFixturesSetEveryField(t *testing.T) {
	for _, v := range []any{*fullJob(1), *fullProject("p"), *fullAccount("a"), *fullKey("a", "f")} {
		if u := storetest.Unset(v); len(u) > 0 {
			t.Errorf("the fixture leaves fields unset, so their round trip is not tested; set them: %v", u)
		}
	}
}

// viaServer is what the server hands back of doc: its BSON bytes,
// checked as the server would, decoded into a fresh value of D.
func viaServer[D any](t *testing.T, doc any) *D {
	t.Helper()
	b, err := bson.Marshal(doc)
	if err != nil {
		t.Fatalf("marshal %T: %v", doc, err)
	}
	if err := bson.Raw(b).Validate(); err != nil {
		t.Fatalf("the document of %T is not valid BSON: %v", doc, err)
	}
	checkFieldNames(t, bson.Raw(b), "")
	d := new(D)
	if err := bson.Unmarshal(b, d); err != nil {
		t.Fatalf("unmarshal %T: %v", d, err)
	}
	return d
}

// checkFieldNames fails if a field name of doc, at any depth, is one
// MongoDB reads as a path or an operator, or holds what no BSON key can.
func checkFieldNames(t *testing.T, doc bson.Raw, path string) {
	t.Helper()
	elems, err := doc.Elements()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range elems {
		k := e.Key()
		if strings.ContainsAny(k, ".$\x00") {
			t.Errorf("field %s%q: MongoDB cannot store or query this name safely", path, k)
		}
		switch v := e.Value(); v.Type {
		case bson.TypeEmbeddedDocument:
			checkFieldNames(t, v.Document(), path+k+".")
		case bson.TypeArray:
			checkFieldNames(t, bson.Raw(v.Array()), path+k+".")
		}
	}
}

func TestJobRoundTrip(t *testing.T) {
	for name, want := range map[string]*api.Job{
		"full":    fullJob(7),
		"minimal": {ID: 8, Name: "job8", User: "bob", State: api.Pending, Submitted: time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)},
		"empty slices and maps": {ID: 9, User: "carol", State: api.Held, Groups: []int{}, Run: &api.Run{Argv: []string{}, Env: []string{}, Mounts: []api.Mount{}},
			Spec: api.Spec{Env: map[string]string{}, Command: []string{}}, Tasks: &api.Tasks{}, Attempts: []api.Attempt{{}}},
	} {
		t.Run(name, func(t *testing.T) {
			op := bson.NewObjectID()
			d, err := newJobDoc(want, 3, op, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := viaServer[jobDoc](t, d)
			if got.ID != want.ID || got.User != want.User || got.State != string(want.State) ||
				got.ArrayID != want.ArrayID || got.TaskID != want.TaskID || got.Version != 3 || !slices.Equal(got.Ops, []bson.ObjectID{op}) {
				t.Errorf("query fields: got _id %d user %q state %q array_id %d task_id %d version %d ops %v",
					got.ID, got.User, got.State, got.ArrayID, got.TaskID, got.Version, got.Ops)
			}
			if !got.Submitted.Equal(want.Submitted.Truncate(time.Millisecond)) {
				t.Errorf("submitted: got %v, want %v", got.Submitted, want.Submitted)
			}
			j, err := got.job()
			if err != nil {
				t.Fatal(err)
			}
			check(t, "job", j, want)

			// update reads the same document through jobCodec.
			b, _ := bson.Marshal(d)
			j2, version, ops, err := jobCodec.decode(b)
			if err != nil || version != 3 || !slices.Equal(ops, []bson.ObjectID{op}) {
				t.Fatalf("jobCodec.decode: version %d, ops %v, %v", version, ops, err)
			}
			check(t, "jobCodec's job", j2, want)
		})
	}
}

// TestJobExitCode: nil means "has not exited", 0 success.
func TestJobExitCode(t *testing.T) {
	zero, one := 0, 1
	for _, code := range []*int{nil, &zero, &one} {
		d, err := newJobDoc(&api.Job{ID: 1, ExitCode: code}, 1, bson.NewObjectID(), nil)
		if err != nil {
			t.Fatal(err)
		}
		j, err := viaServer[jobDoc](t, d).job()
		if err != nil {
			t.Fatal(err)
		}
		if (j.ExitCode == nil) != (code == nil) || code != nil && *j.ExitCode != *code {
			t.Errorf("ExitCode %v came back as %v", code, j.ExitCode)
		}
	}
}

// TestJobDocumentShape: what mongosh shows, and the escaped map keys.
func TestJobDocumentShape(t *testing.T) {
	j := fullJob(12)
	d, err := newJobDoc(j, 1, bson.NewObjectID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	env, err := d.Job.LookupErr("spec", "env")
	if err != nil {
		t.Fatal(err)
	}
	for key, value := range map[string]string{
		"%24weird%2Ekey": "v=w", "50%25%2Eoff": "%2E", "%24": "", "%2E": "", "a%2E%2Eb": "x", "nul%00key": "y", "%2524": "not an escape", "A": "1",
	} {
		if v, err := env.Document().LookupErr(key); err != nil || v.StringValue() != value {
			t.Errorf("job.spec.env.%s = %v, %v; want %q", key, v, err, value)
		}
	}
	for path, want := range map[string]bson.Type{
		"id":                 bson.TypeInt64,
		"submitted":          bson.TypeString, // RFC 3339 with nanoseconds, not a millisecond datetime
		"usage.wall_seconds": bson.TypeDouble,
		"usage.max_memory":   bson.TypeInt64,
		"run.mounts":         bson.TypeArray,
		"spec.array":         bson.TypeEmbeddedDocument,
		"deleting":           bson.TypeBoolean,
	} {
		if v, err := d.Job.LookupErr(strings.Split(path, ".")...); err != nil || v.Type != want {
			t.Errorf("job.%s: %v, %v; want a BSON %s", path, v.Type, err, want)
		}
	}
	if v := d.Job.Lookup("submitted").StringValue(); v != "2025-03-14T15:09:26.535897932+05:30" {
		t.Errorf("job.submitted = %q", v)
	}
}

func TestProjectAccountKeyRoundTrip(t *testing.T) {
	p := fullProject("genomics.v2")
	pd, err := newProjectDoc(p, 2, []bson.ObjectID{bson.NewObjectID()})
	if err != nil {
		t.Fatal(err)
	}
	gotP, err := viaServer[projectDoc](t, pd).project()
	if err != nil {
		t.Fatal(err)
	}
	check(t, "project", gotP, p)
	b, _ := bson.Marshal(pd)
	if gotP, version, ops, err := projectCodec.decode(b); err != nil || version != 2 || !slices.Equal(ops, pd.Ops) {
		t.Errorf("projectCodec.decode: version %d, ops %v, %v", version, ops, err)
	} else {
		check(t, "projectCodec's project", gotP, p)
	}
	check(t, "minimal project", roundTripProject(t, &api.Project{Name: "x"}), &api.Project{Name: "x"})

	a := fullAccount("alice")
	raw, err := encodeDoc(a)
	if err != nil {
		t.Fatal(err)
	}
	gotA, err := viaServer[accountDoc](t, &accountDoc{User: a.User, Account: raw}).account()
	if err != nil {
		t.Fatal(err)
	}
	check(t, "account", gotA, a)

	k := fullKey("alice", "SHA256:AbC+/x")
	kd, err := newKeyDoc(k, bson.NewObjectID())
	if err != nil {
		t.Fatal(err)
	}
	gotKD := viaServer[keyDoc](t, kd)
	if gotKD.ID != kd.ID || gotKD.User != "alice" || gotKD.Fingerprint != "SHA256:AbC+/x" || gotKD.Added != k.Added.UnixNano() {
		t.Errorf("key document: %+v", gotKD)
	}
	gotK, err := gotKD.key()
	if err != nil {
		t.Fatal(err)
	}
	check(t, "key", gotK, k)
	if kd, _ := newKeyDoc(&api.Key{User: "u", Fingerprint: "f"}, bson.NewObjectID()); kd.Added != 0 {
		t.Errorf("added of a key without a time = %d, want 0", kd.Added)
	}
}

func roundTripProject(t *testing.T, p *api.Project) *api.Project {
	t.Helper()
	d, err := newProjectDoc(p, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := viaServer[projectDoc](t, d).project()
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestDecodeChecksIdentity: a document must hold the job (project,
// account, key) its _id says.
func TestDecodeChecksIdentity(t *testing.T) {
	d, _ := newJobDoc(fullJob(5), 1, bson.NewObjectID(), nil)
	d.ID = 6
	if _, err := d.job(); err == nil || !strings.Contains(err.Error(), "document 6 holds job 5") {
		t.Errorf("job of a mismatched document: %v", err)
	}
	pd, _ := newProjectDoc(fullProject("a"), 1, nil)
	pd.Name = "b"
	if _, err := pd.project(); err == nil {
		t.Error("project of a mismatched document: no error")
	}
	raw, _ := encodeDoc(fullAccount("a"))
	if _, err := (&accountDoc{User: "b", Account: raw}).account(); err == nil {
		t.Error("account of a mismatched document: no error")
	}
	kd, _ := newKeyDoc(fullKey("a", "f"), bson.NewObjectID())
	kd.Fingerprint = "g"
	if _, err := kd.key(); err == nil {
		t.Error("key of a mismatched document: no error")
	}
}

// TestNumbers: every number comes back as the same value of its Go type.
func TestNumbers(t *testing.T) {
	type nums struct {
		I  int64   `json:"i"`
		N  int64   `json:"n"`
		F  float64 `json:"f"`
		G  float64 `json:"g"`
		H  float64 `json:"h"`
		Z  float64 `json:"z"`
		W  float64 `json:"w"`
		S  float64 `json:"s"`
		U  uint32  `json:"u"`
		T  float64 `json:"t"`
		Fs []float64
	}
	want := nums{I: math.MaxInt64, N: math.MinInt64, F: 59, G: 1e20, H: 1e21, Z: math.Copysign(0, -1), W: 0.1 + 0.2, S: 5e-324, U: math.MaxUint32,
		T: 1 << 53, Fs: []float64{1.5, -2, 123456789.125, math.MaxFloat64}}
	raw, err := encodeDoc(want)
	if err != nil {
		t.Fatal(err)
	}
	var got nums
	if err := decodeDoc(raw, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || !math.Signbit(got.Z) {
		t.Errorf("got %+v,\nwant %+v", got, want)
	}
	if _, err := encodeDoc(map[string]json.Number{"big": "18446744073709551615"}); err == nil {
		t.Error("an integer past int64 was stored as a rounded double")
	}
}

// TestDecodeHandEdited: a document changed in mongosh holds int32 and
// doubles where GoDocker writes int64; they read back. Types JSON has no
// word for are refused with their path.
func TestDecodeHandEdited(t *testing.T) {
	doc, _ := bson.Marshal(bson.D{
		{Key: "id", Value: int32(3)}, {Key: "uid", Value: float64(1001)}, {Key: "state", Value: "done"},
		{Key: "usage", Value: bson.D{{Key: "cpu_seconds", Value: int32(12)}, {Key: "memory", Value: float64(4 << 30)}}},
		{Key: "priority", Value: bson.D{{Key: "value", Value: 0.5}}},
		{Key: "spec", Value: bson.D{{Key: "env", Value: bson.D{{Key: "%24HOME", Value: "/root"}}}, {Key: "cpus", Value: nil}}},
	})
	var j api.Job
	if err := decodeDoc(doc, &j); err != nil {
		t.Fatal(err)
	}
	if j.ID != 3 || j.UID != 1001 || j.Usage.CPUSeconds != 12 || j.Usage.Memory != 4<<30 || j.Priority.Value != 0.5 || j.Spec.Env["$HOME"] != "/root" {
		t.Errorf("decoded %+v", j)
	}

	bad, _ := bson.Marshal(bson.D{{Key: "spec", Value: bson.D{{Key: "array", Value: bson.D{{Key: "first", Value: time.Now()}}}}}})
	if err := decodeDoc(bad, &j); err == nil || !strings.Contains(err.Error(), "spec.array.first") {
		t.Errorf("a datetime in a job: %v, want an error naming spec.array.first", err)
	}
	nan, _ := bson.Marshal(bson.D{{Key: "usage", Value: bson.D{{Key: "cpu_seconds", Value: math.NaN()}}}})
	if err := decodeDoc(nan, &j); err == nil {
		t.Error("NaN in a job: no error")
	}
	if err := decodeDoc(nil, &j); err == nil {
		t.Error("no document: no error")
	}
}

func TestEscapeKey(t *testing.T) {
	for _, tt := range []struct{ key, escaped string }{
		{"PATH", "PATH"},
		{"", ""},
		{"ñ中", "ñ中"},
		{"$weird.key", "%24weird%2Ekey"},
		{"%", "%25"},
		{"%2E", "%252E"},
		{"a\x00b", "a%00b"},
		{"..$$", "%2E%2E%24%24"},
	} {
		if got := escapeKey(tt.key); got != tt.escaped {
			t.Errorf("escapeKey(%q) = %q, want %q", tt.key, got, tt.escaped)
		}
		if got, err := unescapeKey(tt.escaped); err != nil || got != tt.key {
			t.Errorf("unescapeKey(%q) = %q, %v; want %q", tt.escaped, got, err, tt.key)
		}
	}
	for _, bad := range []string{"%", "a%2", "%zz", "%%"} {
		if got, err := unescapeKey(bad); err == nil {
			t.Errorf("unescapeKey(%q) = %q, want an error", bad, got)
		}
	}
}

func TestPushOp(t *testing.T) {
	var ops []bson.ObjectID
	var all []bson.ObjectID
	for range 3 * maxOps {
		op := bson.NewObjectID()
		all = append([]bson.ObjectID{op}, all...)
		ops = pushOp(op, ops)
	}
	if !slices.Equal(ops, all[:maxOps]) {
		t.Errorf("pushOp kept %v, want the newest %d, newest first", ops, maxOps)
	}
}
