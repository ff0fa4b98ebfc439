package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestAddProfileToConfig(t *testing.T) {
	tests := []struct {
		name   string
		before string // "" with missing=true: no file
		add    string
		keys   map[string]string
		after  string
	}{
		{
			name: "append a new section, keep everything else", add: "dev",
			before: "# my config\n[profile a]\nregion = x ; inline\n",
			keys:   map[string]string{"region": "eu-west-1", "mfa_serial": "arn:aws:iam::1:mfa/a"},
			after:  "# my config\n[profile a]\nregion = x ; inline\n\n[profile dev]\nmfa_serial = arn:aws:iam::1:mfa/a\nregion = eu-west-1\n",
		},
		{
			name: "file without a final newline", add: "dev",
			before: "[profile a]\nregion = x",
			keys:   map[string]string{"region": "y"},
			after:  "[profile a]\nregion = x\n\n[profile dev]\nregion = y\n",
		},
		{
			name: "update a key in place and add another after the last key", add: "a",
			before: "[profile a]\n  Region = x\n# note\nmfa_serial = m\n\n[profile b]\nregion = z\n",
			keys:   map[string]string{"region": "new", "output": "json"},
			after:  "[profile a]\n  region = new\n# note\nmfa_serial = m\noutput = json\n\n[profile b]\nregion = z\n",
		},
		{
			name: "default is [default]", add: "default",
			before: "[profile default2]\n",
			keys:   map[string]string{"region": "r"},
			after:  "[profile default2]\n\n[default]\nregion = r\n",
		},
		{
			name: "empty section gets its keys under the header", add: "a",
			before: "[profile a]\n[profile b]\n",
			keys:   map[string]string{"region": "r"},
			after:  "[profile a]\nregion = r\n[profile b]\n",
		},
		{
			name: "CRLF files stay CRLF", add: "b",
			before: "[profile a]\r\nregion = x\r\n",
			keys:   map[string]string{"region": "r"},
			after:  "[profile a]\r\nregion = x\r\n\r\n[profile b]\r\nregion = r\r\n",
		},
		{
			name: "new file", add: "dev",
			keys:  map[string]string{"region": "r"},
			after: "[profile dev]\nregion = r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), ".aws")
			path := filepath.Join(dir, "config")
			if tt.before != "" {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tt.before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := AddProfileToConfig(path, tt.add, tt.keys); err != nil {
				t.Fatalf("AddProfileToConfig: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.after {
				t.Errorf("file:\n%q\nwant:\n%q", got, tt.after)
			}
			st, _ := os.Stat(path)
			wantMode := os.FileMode(0o600)
			if tt.before != "" {
				wantMode = 0o644 // an existing file keeps its mode
			}
			if st.Mode().Perm() != wantMode {
				t.Errorf("mode %v, want %v", st.Mode().Perm(), wantMode)
			}
			if tt.before == "" {
				dst, _ := os.Stat(dir)
				if dst.Mode().Perm() != 0o700 {
					t.Errorf("dir mode %v", dst.Mode().Perm())
				}
			}
			// The result must load and resolve to what we wrote.
			c, err := Load(LoadOptions{ConfigFile: path, CredentialsFile: filepath.Join(dir, "none"), LookupEnv: mapEnv(nil)})
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.Resolve(tt.add, Overrides{})
			if err != nil {
				t.Fatal(err)
			}
			if r, ok := tt.keys["region"]; ok && p.Region != r {
				t.Errorf("region after reload = %q", p.Region)
			}
		})
	}
}

func TestAddProfileToConfigRejectsStructure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	for _, tc := range []struct {
		name string
		keys map[string]string
	}{
		{"a]b", nil},
		{"a\nb", nil},
		{"", nil},
		{"ok", map[string]string{"region": "x\n[profile evil]"}},
		{"ok", map[string]string{"re=gion": "x"}},
	} {
		if err := AddProfileToConfig(path, tc.name, tc.keys); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("AddProfileToConfig(%q, %q) = %v", tc.name, tc.keys, err)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Error("a rejected write created the file")
	}
}
