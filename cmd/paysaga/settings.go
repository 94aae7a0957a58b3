package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"
)

// settings is a command's flag set whose defaults come from the environment. An
// environment value that does not parse is an error at Parse, as a bad flag is: falling
// back to the default would run the service with a setting nobody chose.
type settings struct {
	*flag.FlagSet
	envErrs *[]error
}

func newSettings(name string) settings {
	return settings{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), envErrs: new([]error)}
}

// Parse reports unparsable environment values first, then parses the flags.
func (s settings) Parse(args []string) error {
	if err := errors.Join(*s.envErrs...); err != nil {
		return err
	}
	return s.FlagSet.Parse(args)
}

// fromEnv sets flag name from envKey when that is set.
func (s settings) fromEnv(name, envKey string) {
	if v, ok := os.LookupEnv(envKey); ok && v != "" {
		if err := s.Set(name, v); err != nil {
			*s.envErrs = append(*s.envErrs, fmt.Errorf("%s=%q: %w", envKey, v, err))
		}
	}
}

func (s settings) str(name, envKey, def, usage string) *string {
	return s.String(name, env(envKey, def), usage+" (env "+envKey+")")
}

func (s settings) duration(name, envKey string, def time.Duration, usage string) *time.Duration {
	d := s.Duration(name, def, usage+" (env "+envKey+")")
	s.fromEnv(name, envKey)
	return d
}

func (s settings) integer(name, envKey string, def int, usage string) *int {
	n := s.Int(name, def, usage+" (env "+envKey+")")
	s.fromEnv(name, envKey)
	return n
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func required(name, value string) error {
	if value == "" {
		return fmt.Errorf("%s is required", name)
	}
	return nil
}
