package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

// cni11 is the spec version that brought GC and STATUS; libcni v1.1.2 has neither, so
// they are done here the way upstream libcni v1.2 does them.
const cni11 = "1.1.0"

// attachment is one entry of cni.dev/valid-attachments.
type attachment struct {
	ContainerID string `json:"containerID"`
	IfName      string `json:"ifname"`
}

// parseValid reads the --valid ID/IFNAME flags.
func parseValid(flags []string) ([]attachment, error) {
	valid := []attachment{}
	for _, v := range flags {
		id, ifName, ok := strings.Cut(v, "/")
		if !ok || id == "" || ifName == "" {
			return nil, refuse(types.ErrInvalidEnvironmentVariables, "--valid %q is not ID/IFNAME", v)
		}
		valid = append(valid, attachment{ContainerID: id, IfName: ifName})
	}
	return valid, nil
}

// status asks each plugin in order whether it is ready, stopping at the first that is
// not (upstream GetStatusNetworkList). Below 1.1.0 there is no STATUS to send.
func status(ctx context.Context, e *pluginExec, nw *network, paths []string) error {
	if !atLeast(nw.version, cni11) {
		fmt.Fprintf(os.Stderr, "cni-runtime status: cniVersion %q predates STATUS (%s); nothing sent\n", nw.version, cni11)
		return nil
	}
	for _, p := range nw.list.Plugins {
		stdin, err := stdinFor(nw, p, nil)
		if err != nil {
			return err
		}
		if _, err := e.call(ctx, paths, "STATUS", p.Network.Type, stdin); err != nil {
			return err
		}
	}
	return nil
}

// gc removes what the runtime no longer needs (upstream GCNetworkList): DEL for every
// cached attachment of this network that is not valid, then, from 1.1.0, GC with the
// valid attachments to each plugin. It carries on past failures and returns the first;
// the others go to stderr.
func gc(ctx context.Context, cni *libcni.CNIConfig, e *pluginExec, nw *network, paths []string, cacheDir string, valid []attachment) error {
	keep := make(map[attachment]bool, len(valid))
	for _, a := range valid {
		keep[a] = true
	}
	cached, err := cachedAttachments(cacheDir, nw.list.Name)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cached {
		if keep[c.attachment()] {
			continue
		}
		// The v1.1.2 cache does not record the netns, so DEL goes without one.
		rt := &libcni.RuntimeConf{
			ContainerID:    c.ContainerID,
			IfName:         c.IfName,
			Args:           c.CNIArgs,
			CapabilityArgs: c.CapabilityArgs,
		}
		if err := cni.DelNetworkList(ctx, nw.list, rt); err != nil {
			errs = append(errs, fmt.Errorf("DEL of stale attachment %s/%s: %w", c.ContainerID, c.IfName, err))
		}
	}

	if !atLeast(nw.version, cni11) {
		fmt.Fprintf(os.Stderr, "cni-runtime gc: cniVersion %q predates GC (%s); stale cached attachments deleted, no GC sent\n", nw.version, cni11)
		return first(errs)
	}
	for _, p := range nw.list.Plugins {
		stdin, err := stdinFor(nw, p, map[string]interface{}{"cni.dev/valid-attachments": valid})
		if err == nil {
			_, err = e.call(ctx, paths, "GC", p.Network.Type, stdin)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("GC of plugin %s: %w", p.Network.Type, err))
		}
	}
	return first(errs)
}

// stdinFor is a plugin's config with the list's name and version injected, as libcni
// injects them for every verb, plus extra keys.
func stdinFor(nw *network, p *libcni.NetworkConfig, extra map[string]interface{}) ([]byte, error) {
	inject := map[string]interface{}{"name": nw.list.Name, "cniVersion": nw.version}
	for k, v := range extra {
		inject[k] = v
	}
	conf, err := libcni.InjectConf(p, inject)
	if err != nil {
		return nil, refuse(types.ErrInvalidNetworkConfig, "config of plugin %s: %v", p.Network.Type, err)
	}
	return conf.Bytes, nil
}

// cachedAttachment is what libcni's result cache records of one ADD.
type cachedAttachment struct {
	Kind           string                 `json:"kind"`
	ContainerID    string                 `json:"containerId"`
	IfName         string                 `json:"ifName"`
	NetworkName    string                 `json:"networkName"`
	CNIArgs        [][2]string            `json:"cniArgs"`
	CapabilityArgs map[string]interface{} `json:"capabilityArgs"`
}

func (c *cachedAttachment) attachment() attachment {
	return attachment{ContainerID: c.ContainerID, IfName: c.IfName}
}

// cachedAttachments lists the attachments of network name in libcni's result cache
// (upstream GetCachedAttachments, which v1.1.2 lacks). Unreadable entries are skipped.
func cachedAttachments(cacheDir, name string) ([]cachedAttachment, error) {
	dir := filepath.Join(cacheDir, "results")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, refuse(types.ErrIOFailure, "reading the result cache: %v", err)
	}
	var out []cachedAttachment
	for _, entry := range entries {
		if !entry.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, entry.Name()))
		if err != nil {
			continue
		}
		var c cachedAttachment
		if json.Unmarshal(data, &c) != nil || c.Kind != libcni.CNICacheV1 || c.NetworkName != name {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// first returns the first error and logs the rest.
func first(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	for _, err := range errs[1:] {
		fmt.Fprintf(os.Stderr, "cni-runtime gc: also: %v\n", err)
	}
	return errs[0]
}
