package mongo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// A job, project, account or key is stored as the BSON form of its JSON
// wire encoding (package api's, the one encoding of a job everywhere),
// not through the driver's struct codec:
//
//   - times stay RFC 3339 strings with nanoseconds and their offset, where
//     a BSON datetime keeps milliseconds in UTC;
//   - nil and empty slices and maps, omitted fields and pointers (ExitCode
//     nil versus 0) come back exactly as encoding/json reads them, which
//     every other part of GoDocker relies on already;
//   - a field added to api.Job is stored without a line changing here.
//
// JSON objects become BSON documents, arrays arrays, strings strings,
// integers int64 and other numbers doubles, so the document reads well in
// mongosh (db.jobs.find({}, {"job.spec.image": 1})). Object keys are
// escaped (escapeKey): the keys of Go maps (Spec.Env, "$weird.key") may
// hold '.' and '$', which MongoDB reads as paths and operators, and NUL,
// which a BSON key cannot hold. Struct fields' JSON names hold none of
// them, so only map keys ever change.

// encodeDoc returns the BSON document of v's JSON encoding; v must encode
// as a JSON object.
func encodeDoc(v any) (bson.Raw, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	val, err := jsonToBSON(dec)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	d, ok := val.(bson.D)
	if !ok {
		return nil, fmt.Errorf("encode: %T is not a JSON object", v)
	}
	raw, err := bson.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return raw, nil
}

// decodeDoc decodes a document encodeDoc made into v, through JSON.
func decodeDoc(doc bson.Raw, v any) error {
	if len(doc) == 0 {
		return errors.New("decode: no document")
	}
	var buf bytes.Buffer
	if err := writeDocJSON(&buf, doc, ""); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if err := json.Unmarshal(buf.Bytes(), v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

// jsonToBSON reads the next JSON value from dec (which must use numbers)
// as a value bson.Marshal encodes: bson.D, bson.A, string, int64, float64,
// bool or nil.
func jsonToBSON(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			d := bson.D{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := k.(string)
				if !ok {
					return nil, fmt.Errorf("object key %v is not a string", k)
				}
				v, err := jsonToBSON(dec)
				if err != nil {
					return nil, err
				}
				d = append(d, bson.E{Key: escapeKey(key), Value: v})
			}
			_, err := dec.Token() // '}'
			return d, err
		case '[':
			a := bson.A{}
			for dec.More() {
				v, err := jsonToBSON(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token() // ']'
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		return jsonNumber(t)
	case string, bool, nil:
		return t, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %T", tok)
}

// jsonNumber is n as an int64 if it is an integer literal that fits,
// else as a float64. encoding/json writes every Go integer as an integer
// literal and every float with the fewest digits that read back the same
// float, so either way writeValueJSON writes back the text it came from.
func jsonNumber(n json.Number) (any, error) {
	s := string(n)
	if s == "-0" {
		return math.Copysign(0, -1), nil // a float: -0 is no integer's text
	}
	integer := !strings.ContainsAny(s, ".eE")
	if integer {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("number %s: %w", s, err)
	}
	if integer && strconv.FormatFloat(f, 'f', -1, 64) != s {
		// Past int64 an integer literal is a float64 that encoding/json
		// wrote without exponent (1e20), or an integer a double would
		// round: refuse it rather than store another number.
		return nil, fmt.Errorf("number %s does not fit in 64 bits", s)
	}
	return f, nil
}

// writeDocJSON writes the document doc as a JSON object to buf,
// unescaping its keys; path names it in errors.
func writeDocJSON(buf *bytes.Buffer, doc bson.Raw, path string) error {
	elems, err := doc.Elements()
	if err != nil {
		return fmt.Errorf("%s: %w", pathOr(path), err)
	}
	buf.WriteByte('{')
	for i, e := range elems {
		if i > 0 {
			buf.WriteByte(',')
		}
		key, err := unescapeKey(e.Key())
		if err != nil {
			return fmt.Errorf("%s: %w", pathOr(path), err)
		}
		if err := writeJSONString(buf, key); err != nil {
			return err
		}
		buf.WriteByte(':')
		if err := writeValueJSON(buf, e.Value(), path+"."+e.Key()); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

// writeValueJSON writes v as JSON. Besides what encodeDoc writes, it
// takes int32 and integral doubles, which an edit in mongosh leaves.
func writeValueJSON(buf *bytes.Buffer, v bson.RawValue, path string) error {
	switch v.Type {
	case bson.TypeEmbeddedDocument:
		return writeDocJSON(buf, v.Document(), path)
	case bson.TypeArray:
		values, err := v.Array().Values()
		if err != nil {
			return fmt.Errorf("%s: %w", pathOr(path), err)
		}
		buf.WriteByte('[')
		for i, e := range values {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeValueJSON(buf, e, path+"."+strconv.Itoa(i)); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case bson.TypeString:
		return writeJSONString(buf, v.StringValue())
	case bson.TypeInt64:
		buf.WriteString(strconv.FormatInt(v.Int64(), 10))
		return nil
	case bson.TypeInt32:
		buf.WriteString(strconv.FormatInt(int64(v.Int32()), 10))
		return nil
	case bson.TypeDouble:
		f := v.Double()
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 && !(f == 0 && math.Signbit(f)) {
			// An integral double reads into an int field only as an
			// integer literal; encoding/json would write 1e+21 style
			// above 1e21, and 1<<53 is below.
			buf.WriteString(strconv.FormatInt(int64(f), 10))
			return nil
		}
		b, err := json.Marshal(f)
		if err != nil {
			return fmt.Errorf("%s: %w", pathOr(path), err) // NaN, ±Inf
		}
		buf.Write(b)
		return nil
	case bson.TypeBoolean:
		if v.Boolean() {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
		return nil
	case bson.TypeNull:
		buf.WriteString("null")
		return nil
	}
	return fmt.Errorf("%s: BSON %s where GoDocker stores only JSON's types", pathOr(path), v.Type)
}

func writeJSONString(buf *bytes.Buffer, s string) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}

func pathOr(path string) string {
	if path == "" {
		return "document"
	}
	return strings.TrimPrefix(path, ".")
}

// escapeKey makes a JSON object key a safe BSON field name: '%', '.',
// '$' and NUL become %25, %2E, %24 and %00. Every other key, and so every
// struct field's name, stays as it is.
func escapeKey(k string) string {
	if !strings.ContainsAny(k, "%.$\x00") {
		return k
	}
	var b strings.Builder
	for i := range len(k) {
		switch c := k[i]; c {
		case '%', '.', '$', 0:
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescapeKey undoes escapeKey.
func unescapeKey(k string) (string, error) {
	if !strings.Contains(k, "%") {
		return k, nil
	}
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		if k[i] != '%' {
			b.WriteByte(k[i])
			continue
		}
		if i+2 >= len(k) {
			return "", fmt.Errorf("field name %q: truncated escape", k)
		}
		c, err := strconv.ParseUint(k[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("field name %q: bad escape %q", k, k[i:i+3])
		}
		b.WriteByte(byte(c))
		i += 2
	}
	return b.String(), nil
}
