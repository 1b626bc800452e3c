package main

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestReadmeAgreesWithHelp: the README's configuration table lists exactly the settings
// help prints, with the same defaults.
func TestReadmeAgreesWithHelp(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := map[string]string{} // variable → default as the README shows it
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `LCW_") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			t.Errorf("malformed row: %s", line)
			continue
		}
		key := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if _, dup := readme[key]; dup {
			t.Errorf("README lists %s twice", key)
		}
		readme[key] = strings.ReplaceAll(strings.TrimSpace(cells[2]), "`", "")
	}

	help := map[string]string{}
	typ := reflect.TypeOf(settings{})
	for i := range typ.NumField() {
		f := typ.Field(i)
		def := f.Tag.Get("default")
		if def == "" {
			def = f.Tag.Get("show")
		}
		help[helpKey(t, f.Name)] = strings.ReplaceAll(def, "`", "")
	}
	for k, want := range help {
		got, ok := readme[k]
		switch {
		case !ok:
			t.Errorf("README's configuration table lacks %s", k)
		case got != want:
			t.Errorf("README: %s defaults to %q, help says %q", k, got, want)
		}
	}
	for k := range readme {
		if _, ok := help[k]; !ok {
			t.Errorf("README lists %s, which is no setting", k)
		}
	}
}

// helpKey returns the variable envconfig reads into the settings field named field.
func helpKey(t *testing.T, field string) string {
	t.Helper()
	for _, name := range settingNames(t) {
		if strings.ReplaceAll(name, "_", "") == "LCW"+strings.ToUpper(field) {
			return name
		}
	}
	t.Fatalf("no variable for field %s", field)
	return ""
}
