package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
)

// libcniVersion is the newest spec version whose results this libcni (v1.1.2) parses.
const libcniVersion = "1.0.0"

// network is a config loaded as a list, the way libcni runs it: a single .conf becomes
// a one-plugin list (ConfListFromConf).
type network struct {
	// list is at a version libcni knows (libcniVersion when the config is newer).
	list *libcni.NetworkConfigList
	// version is the cniVersion the config itself names.
	version string
}

// loadNetwork reads a .conf or a conflist (a JSON object with "plugins").
func loadNetwork(path string) (*network, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, refuse(types.ErrIOFailure, "reading config: %v", err)
	}
	var top map[string]json.RawMessage
	if err := unmarshalObject(raw, &top); err != nil {
		return nil, refuse(types.ErrDecodingFailure, "config %s: %v", path, err)
	}
	var want string
	if v, ok := top["cniVersion"]; ok {
		if err := json.Unmarshal(v, &want); err != nil {
			return nil, refuse(types.ErrDecodingFailure, "config %s: cniVersion is not a string", path)
		}
	}
	if _, _, _, err := version.ParseVersion(want); err != nil {
		return nil, refuse(types.ErrIncompatibleCNIVersion, "config %s: %v", path, err)
	}

	translate := newerThanLibcni(want)
	forLibcni := raw
	if translate {
		forLibcni = withVersion(raw, libcniVersion)
	}
	var list *libcni.NetworkConfigList
	if _, isList := top["plugins"]; isList {
		list, err = libcni.ConfListFromBytes(forLibcni)
	} else {
		var conf *libcni.NetworkConfig
		if conf, err = libcni.ConfFromBytes(forLibcni); err == nil {
			list, err = libcni.ConfListFromConf(conf)
		}
	}
	if err != nil {
		return nil, refuse(types.ErrInvalidNetworkConfig, "config %s: %v", path, err)
	}
	if translate {
		// The result cache records the config as written.
		list.Bytes = withVersion(list.Bytes, want)
	}
	return &network{list: list, version: want}, nil
}

// atLeast reports whether spec version v is min or newer.
func atLeast(v, min string) bool {
	ok, err := version.GreaterThanOrEqualTo(v, min)
	return err == nil && ok
}

// newerThanLibcni reports whether v is a valid version past what libcni parses.
func newerThanLibcni(v string) bool {
	if _, _, _, err := version.ParseVersion(v); err != nil {
		return false
	}
	return !atLeast(libcniVersion, v)
}

// withVersion sets cniVersion at the top of a JSON object and of its prevResult, leaving
// every other value byte for byte as it was. Input that is not an object is returned as is.
func withVersion(doc []byte, v string) []byte {
	var top map[string]json.RawMessage
	if unmarshalObject(doc, &top) != nil {
		return doc
	}
	quoted, _ := json.Marshal(v)
	top["cniVersion"] = quoted
	var prev map[string]json.RawMessage
	if unmarshalObject(top["prevResult"], &prev) == nil {
		prev["cniVersion"] = quoted
		top["prevResult"], _ = json.Marshal(prev)
	}
	out, err := json.Marshal(top)
	if err != nil {
		return doc
	}
	return out
}

// versionOf is the top-level cniVersion of a plugin's answer, "" when it has none.
func versionOf(doc []byte) string {
	var v struct {
		CNIVersion string `json:"cniVersion"`
	}
	_ = json.Unmarshal(doc, &v)
	return v.CNIVersion
}

// unmarshalObject decodes data, which must be a JSON object (not null, not an array).
func unmarshalObject(data []byte, v interface{}) error {
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal(data, v)
}
