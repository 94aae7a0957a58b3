package main

import (
	"flag"
	"os"
)

// toolFlags is the flag set of a tool (tosssim, chaos): each setting's default comes from
// the environment as the production binary reads it, where an empty variable leaves the
// default, and `-h` names the variable.
type toolFlags struct{ *flag.FlagSet }

func newToolFlags(name string) toolFlags {
	return toolFlags{flag.NewFlagSet(name, flag.ContinueOnError)}
}

func (f toolFlags) str(name, envKey, def, usage string) *string {
	return f.String(name, setting(envKey, def), usage+" (env "+envKey+")")
}

// secret is a setting that `-h` never prints (a database URL carries its password).
func (f toolFlags) secret(name, envKey, def, usage string) *string {
	v := setting(envKey, def)
	f.Func(name, usage+" (env "+envKey+")", func(s string) error { v = s; return nil })
	return &v
}

// setting is the value of key, or def when it is unset or empty.
func setting(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
