package config

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Load reads and parses the config file at path. err is non-nil only when
// the file cannot be read or is not YAML; everything else is an Issue.
func Load(path string) (*Config, []Issue, error) { return LoadWith(path, Options{}) }

// LoadWith is Load validating with o (e.g. Strict).
func LoadWith(path string, o Options) (*Config, []Issue, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	c, issues, err := ParseWith(data, o)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return c, issues, nil
}

// Parse decodes data over Default() (regions excepted), then validates it.
// Issues are sorted errors first, then by line.
func Parse(data []byte) (*Config, []Issue, error) { return ParseWith(data, Options{}) }

// ParseWith is Parse validating with o (e.g. Strict).
func ParseWith(data []byte, o Options) (*Config, []Issue, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, err
	}
	c := Default()
	c.Regions = nil // never inherit regions: an SRE file must list its own
	d := decoder{lines: map[string]int{}}
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		d.value(root.Content[0], reflect.ValueOf(c).Elem(), "", 0)
	}
	c.lines = d.lines
	issues := append(d.issues, c.ValidateWith(o)...)
	sortIssues(issues)
	return c, issues, nil
}

func sortIssues(issues []Issue) {
	sort.SliceStable(issues, func(a, b int) bool {
		ea, eb := issues[a].Severity == SeverityError, issues[b].Severity == SeverityError
		if ea != eb {
			return ea
		}
		return issues[a].Line < issues[b].Line
	})
}

// maxDepth bounds recursion; the schema is 4 levels deep, so anything
// deeper is an alias loop or garbage.
const maxDepth = 16

var durationType = reflect.TypeOf(time.Duration(0))

// decoder walks a yaml.Node tree against the Config struct by reflection,
// recording each field's line and reporting shape problems as issues.
type decoder struct {
	lines  map[string]int
	issues []Issue
}

func (d *decoder) errorf(path string, line int, format string, args ...any) {
	if path == "" {
		path = "(root)"
	}
	d.issues = append(d.issues, Issue{Path: path, Line: line, Msg: fmt.Sprintf(format, args...), Severity: SeverityError})
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// value decodes n into v. A YAML null leaves v at its default.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string, depth int) {
	for n.Kind == yaml.AliasNode && n.Alias != nil && depth < maxDepth {
		n = n.Alias
		depth++
	}
	if depth >= maxDepth || n.Kind == yaml.AliasNode {
		d.errorf(path, n.Line, "alias nesting too deep")
		return
	}
	if isNull(n) {
		return
	}
	switch {
	case v.Kind() == reflect.Pointer:
		// An optional field: set only when the file gives it a value (a
		// scalar that does not decode leaves it unset, so its error is not
		// echoed by a range check on a zero value).
		e := reflect.New(v.Type().Elem())
		before := len(d.issues)
		d.value(n, e.Elem(), path, depth)
		if e.Elem().Kind() == reflect.Struct || len(d.issues) == before {
			v.Set(e)
		}
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		d.dict(n, v, path, depth)
	case v.Kind() == reflect.Struct:
		d.mapping(n, v, path, depth)
	case v.Kind() == reflect.Slice:
		d.sequence(n, v, path, depth)
	case v.Type() == durationType:
		if n.Kind != yaml.ScalarNode {
			d.errorf(path, n.Line, "must be a Go duration such as 30s")
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.errorf(path, n.Line, "must be a Go duration such as 30s (got %q)", n.Value)
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(path, n.Line, "must be a string")
			return
		}
		v.SetString(n.Value)
	case v.Kind() == reflect.Int:
		var i int
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
			d.errorf(path, n.Line, "must be an integer (got %q)", n.Value)
			return
		}
		v.SetInt(int64(i))
	case v.Kind() == reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.errorf(path, n.Line, "must be true or false (got %q)", n.Value)
			return
		}
		v.SetBool(b)
	default:
		// Unreachable for this schema; reported rather than panicking.
		d.errorf(path, n.Line, "unsupported field type %s", v.Type())
	}
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.errorf(path, n.Line, "must be a mapping")
		return
	}
	fields := map[string]int{}
	var known []string
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" || !t.Field(i).IsExported() {
			continue
		}
		fields[tag] = i
		known = append(known, tag)
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(path, k.Line, "mapping keys must be plain field names")
			continue
		}
		p := k.Value
		if path != "" {
			p = path + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(p, k.Line, "duplicate key (first set on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fields[k.Value]
		if !ok {
			d.errorf(p, k.Line, "unknown field (known fields here: %s)", strings.Join(known, ", "))
			continue
		}
		d.lines[p] = k.Line
		d.value(val, v.Field(idx), p, depth+1)
	}
}

// dict decodes a mapping whose keys are data (objectives.rows.plan-5), not
// field names: each key becomes a path segment; which keys are allowed is
// the validator's business.
func (d *decoder) dict(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.errorf(path, n.Line, "must be a mapping")
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(path, k.Line, "mapping keys must be plain names")
			continue
		}
		p := path + "." + k.Value
		if first, dup := seen[k.Value]; dup {
			d.errorf(p, k.Line, "duplicate key (first set on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		d.lines[p] = k.Line
		e := reflect.New(v.Type().Elem()).Elem()
		d.value(val, e, p, depth+1)
		v.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
	}
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(path, n.Line, "must be a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, el := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.lines[p] = el.Line
		d.value(el, s.Index(i), p, depth+1)
	}
	v.Set(s)
}
