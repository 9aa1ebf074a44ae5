// Package flagset is the one configuration scheme of the runtime's binaries
// (agent-runtime and global-lb): defaults, then a YAML file named by
// `--config FILE` (unknown keys rejected, errors naming the field path), then
// one command-line flag per scalar YAML field, derived from the config
// struct's yaml tags by reflection.
//
// A field's flag is its YAML path with "." and "_" turned into "-"
// (health.failure_threshold → --health-failure-threshold) unless the field
// carries a `flag:"name"` tag (`flag:"-"`: no flag). A `help:"text"` tag is
// its --help text. Only flags given on the command line are applied, so a
// flag's default never clobbers the file.
package flagset

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds the config file read by Load.
const MaxFileSize = 1 << 20

// Field is one scalar YAML field and its flag.
type Field struct {
	Path    string // YAML path, e.g. "health.interval"
	Flag    string // flag name without dashes, e.g. "health-interval"
	Help    string // the help tag
	Type    string // string, bool, int, duration, ...
	Default string // the value in the defaults given to New
	index   []int
}

// Set registers `--config` and one flag per scalar field of a config struct
// on its own flag.FlagSet.
type Set struct {
	name   string
	typ    reflect.Type
	fs     *flag.FlagSet
	config string
	fields []*fieldValue
}

// fieldValue is a Field's flag.Value: it keeps the raw text, parsed by Apply
// so a bad value is reported naming the YAML field.
type fieldValue struct {
	Field
	raw string
	set bool
}

func (v *fieldValue) String() string {
	if v == nil {
		return ""
	}
	return v.raw
}

func (v *fieldValue) Set(s string) error {
	v.raw, v.set = s, true
	return nil
}

// IsBoolFlag lets a bool field be given as a bare `--name`.
func (v *fieldValue) IsBoolFlag() bool { return v != nil && v.Type == "bool" }

var durationType = reflect.TypeFor[time.Duration]()

// Fields lists the scalar fields of the struct defaults (a struct or a
// pointer to one) in declaration order. It panics on a scalar kind it
// cannot parse from a flag: that is a programming error in the config type.
func Fields(defaults any) []Field {
	v := reflect.Indirect(reflect.ValueOf(defaults))
	if v.Kind() != reflect.Struct {
		panic(fmt.Sprintf("flagset: %T is not a struct", defaults))
	}
	var out []Field
	walk(v, "", nil, &out)
	return out
}

func walk(v reflect.Value, prefix string, index []int, out *[]Field) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if !sf.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name) // yaml's own default key
		}
		path := prefix + name
		idx := append(append([]int(nil), index...), i)
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && sf.Type != durationType {
			walk(fv, path+".", idx, out)
			continue
		}
		if fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map || fv.Kind() == reflect.Pointer {
			continue // not scalar: a binary may add its own flag for it
		}
		flagName := sf.Tag.Get("flag")
		if flagName == "-" {
			continue
		}
		if flagName == "" {
			flagName = strings.NewReplacer(".", "-", "_", "-").Replace(path)
		}
		typ := typeName(sf.Type)
		if typ == "" {
			panic(fmt.Sprintf("flagset: %s (%s): unsupported flag type %s", path, t, sf.Type))
		}
		*out = append(*out, Field{Path: path, Flag: flagName, Help: sf.Tag.Get("help"), Type: typ, Default: format(fv), index: idx})
	}
}

func typeName(t reflect.Type) string {
	if t == durationType {
		return "duration"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "int"
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		return "uint"
	case reflect.Float64:
		return "float"
	}
	return ""
}

func format(v reflect.Value) string {
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}
	return fmt.Sprint(v.Interface())
}

// New registers `--config FILE` and one flag per scalar field of defaults
// (a config struct or a pointer to one; its values are shown as the flags'
// defaults) on a new flag set named after the binary. Two fields with one
// flag name panic, as flag.FlagSet does.
func New(name string, defaults any) *Set {
	s := &Set{name: name, typ: reflect.Indirect(reflect.ValueOf(defaults)).Type(), fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	s.fs.SetOutput(io.Discard) // errors are returned, usage printed by Usage
	s.fs.StringVar(&s.config, "config", "", "YAML config file; flags override it")
	for _, f := range Fields(defaults) {
		v := &fieldValue{Field: f}
		s.fields = append(s.fields, v)
		s.fs.Var(v, f.Flag, f.Help)
	}
	return s
}

// FlagSet is the underlying flag set, for a binary's own extra flags (those
// not in its YAML): they are parsed with the rest and listed by Usage.
func (s *Set) FlagSet() *flag.FlagSet { return s.fs }

// Fields lists the field flags in declaration order.
func (s *Set) Fields() []Field {
	out := make([]Field, len(s.fields))
	for i, v := range s.fields {
		out[i] = v.Field
	}
	return out
}

// ConfigPath is the value of --config after Parse ("" when not given).
func (s *Set) ConfigPath() string { return s.config }

// Parse parses args. --help yields flag.ErrHelp; a positional argument or
// an unknown flag is an error.
func (s *Set) Parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("flags: %w (see --help)", err)
	}
	if s.fs.NArg() > 0 {
		rest := s.fs.Args()
		if i := len(args) - len(rest) - 1; i >= 0 {
			// "--replicate false" stops parsing at "false": say how to write it.
			name := strings.TrimLeft(args[i], "-")
			if f := s.fs.Lookup(name); f != nil && !strings.Contains(args[i], "=") {
				if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
					return fmt.Errorf("flags: unexpected argument %q: a bool flag takes its value after '=' (--%s=%s)", rest[0], name, rest[0])
				}
			}
		}
		return fmt.Errorf("flags: unexpected argument %q (see --help)", rest[0])
	}
	return nil
}

// Apply sets every field whose flag was given onto cfg, a pointer to the
// struct type given to New. A value that does not parse is an error naming
// the YAML field and the flag.
func (s *Set) Apply(cfg any) error {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Type() != s.typ {
		return fmt.Errorf("flagset: Apply needs a *%s, got %T", s.typ, cfg)
	}
	var errs []error
	for _, f := range s.fields {
		if !f.set {
			continue
		}
		if err := setScalar(v.Elem().FieldByIndex(f.index), f.raw); err != nil {
			errs = append(errs, fmt.Errorf("%s: invalid value %q for --%s: %v", f.Path, f.raw, f.Flag, err))
		}
	}
	return errors.Join(errs...)
}

func setScalar(v reflect.Value, raw string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return errors.New("want a Go duration such as 1.5s or -2m")
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return errors.New("want true or false")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(raw, 10, v.Type().Bits())
		if err != nil {
			return numErr(err, "an integer")
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		n, err := strconv.ParseUint(raw, 10, v.Type().Bits())
		if err != nil {
			return numErr(err, "a non-negative integer")
		}
		v.SetUint(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return numErr(err, "a number")
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

func numErr(err error, want string) error {
	if errors.Is(err, strconv.ErrRange) {
		return errors.New("out of range")
	}
	return errors.New("want " + want)
}

// Load is the order both binaries use: parse args, decode the --config file
// (if one is named) over cfg, which holds the defaults on entry, then apply
// the flags given. It does not validate. --help yields flag.ErrHelp.
func (s *Set) Load(args []string, cfg any) error {
	if err := s.Parse(args); err != nil {
		return err
	}
	if s.config != "" {
		data, err := ReadFile(s.config)
		if err != nil {
			return err
		}
		if err := DecodeYAML(data, cfg); err != nil {
			return err
		}
	}
	return s.Apply(cfg)
}

// ReadFile reads a config file of at most MaxFileSize bytes.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("config: %s: larger than %d bytes", path, MaxFileSize)
	}
	return data, nil
}

// Usage writes the synopsis and every flag (--config, the field flags in
// declaration order with their YAML paths and defaults, then the binary's
// own flags) to w.
func (s *Set) Usage(w io.Writer, synopsis string) {
	fmt.Fprintf(w, "Usage: %s\n\n", synopsis)
	fmt.Fprintf(w, "Settings come from the defaults, then the --config file, then the flags given:\n")
	fmt.Fprintf(w, "each flag marked [yaml: key] overrides that key of the file.\n\n")
	fmt.Fprintf(w, "  --config FILE\n    \tYAML config file; flags override it\n")
	for _, f := range s.fields {
		arg := " " + f.Type
		if f.Type == "bool" {
			arg = "[=true|false]"
		}
		text := f.Help
		if f.Default != "" {
			text = strings.TrimSpace(text + " (default " + f.Default + ")")
		}
		fmt.Fprintf(w, "  --%s%s    [yaml: %s]\n    \t%s\n", f.Flag, arg, f.Path, text)
	}
	known := map[string]bool{"config": true}
	for _, f := range s.fields {
		known[f.Flag] = true
	}
	var extra []*flag.Flag
	s.fs.VisitAll(func(f *flag.Flag) {
		if !known[f.Name] {
			extra = append(extra, f)
		}
	})
	if len(extra) == 0 {
		return
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].Name < extra[j].Name })
	fmt.Fprintf(w, "\nNot in the YAML file:\n")
	for _, f := range extra {
		arg, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "[]" {
			def = " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(w, "%s\n    \t%s%s\n", line, usage, def)
	}
}

// DecodeYAML decodes data over cfg (a pointer to a config struct holding its
// defaults), refusing unknown keys; an empty document changes nothing. Every
// error names the field path it is about ("config: health.interval: line 3:
// cannot unmarshal ...").
func DecodeYAML(data []byte, cfg any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a typo in a key must not silently fall back to a default
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		if te, ok := errors.AsType[*yaml.TypeError](err); ok {
			return nameFields(data, te)
		}
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// keyAt is one mapping key of a YAML document with its field path.
type keyAt struct {
	path  string
	name  string
	line  int
	value *yaml.Node
}

func collectKeys(n *yaml.Node, path string, depth int, out *[]keyAt) {
	if depth > 32 { // aliases can nest; the schemas are 3 deep
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			collectKeys(c, path, depth+1, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			collectKeys(c, fmt.Sprintf("%s[%d]", path, i), depth+1, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			*out = append(*out, keyAt{path: p, name: k.Value, line: k.Line, value: v})
			collectKeys(v, p, depth+1, out)
		}
	}
}

// nameFields rewrites yaml's line-numbered type errors so each names the
// field path it is about ("health.interval: line 3: cannot unmarshal ...").
func nameFields(data []byte, te *yaml.TypeError) error {
	var root yaml.Node
	var keys []keyAt
	if yaml.Unmarshal(data, &root) == nil {
		collectKeys(&root, "", 0, &keys)
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, msg := range te.Errors {
		var line int
		if _, err := fmt.Sscanf(msg, "line %d:", &line); err != nil {
			msgs = append(msgs, msg)
			continue
		}
		field := ""
		if _, rest, ok := strings.Cut(msg, "field "); ok && strings.Contains(rest, " not found") {
			name, _, _ := strings.Cut(rest, " ")
			for _, k := range keys {
				if k.line == line && k.name == name {
					field = k.path
				}
			}
		}
		for _, k := range keys {
			if field == "" && k.line == line && k.value.Kind == yaml.ScalarNode && strings.Contains(msg, "`"+k.value.Value+"`") {
				field = k.path
			}
		}
		if field == "" {
			for _, k := range keys {
				if k.line == line {
					field = k.path // deepest key on that line
				}
			}
		}
		if field != "" {
			msg = field + ": " + msg
		}
		msgs = append(msgs, msg)
	}
	return fmt.Errorf("config: %s", strings.Join(msgs, "; "))
}
