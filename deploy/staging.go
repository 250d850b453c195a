package deploy

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/yarn"
)

// StagingURL is the application's staging directory as a URL:
// <spindle.yarn.stagingDir or /user/<user>>/.spindleStaging/<app> on fs.defaultFS
// unless the configured directory names its own filesystem.
func StagingURL(c *conf.Conf, h *conf.Hadoop, user, app string) (string, error) {
	root := c.Get("spindle.yarn.stagingDir")
	if root == "" {
		root = "/user/" + user
	}
	if !strings.Contains(root, "://") {
		def, _ := h.Get("fs.defaultFS")
		if def == "" {
			def = "file:///"
		}
		u, err := url.Parse(def)
		if err != nil {
			return "", fmt.Errorf("fs.defaultFS %s: %w", def, err)
		}
		u.Path = root
		root = u.String()
	}
	u, err := url.Parse(root)
	if err != nil {
		return "", fmt.Errorf("staging dir %s: %w", root, err)
	}
	u.Path = hdfs.StagingDir(u.Path, app)
	return u.String(), nil
}

// resourceURL names path on the filesystem of base (a URL), for a LocalResource.
func resourceURL(base, p string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = p
	return u.String()
}

// RemoveStaging removes an application's staging directory; a missing one is fine,
// so the AM and the CLI may both call it.
func RemoveStaging(ctx context.Context, fsys hdfs.FS, dir string) error {
	if err := fsys.RemoveAll(ctx, dir); err != nil {
		return fmt.Errorf("remove staging dir %s: %w", dir, err)
	}
	return nil
}

// RemoveStagingURL removes the staging directory named by its URL (App.Staging, or
// SPINDLE_STAGING_DIR in the AM's environment), reaching HDFS as opts say.
func RemoveStagingURL(ctx context.Context, stagingURL string, opts hdfs.Options) (err error) {
	fss := hdfs.NewFileSystems(opts)
	defer func() { err = errors.Join(err, fss.Close()) }()
	return RemoveStagingIn(ctx, fss, stagingURL)
}

// RemoveStagingIn is RemoveStagingURL through fss, whose credentials (renewed
// delegation tokens in the ApplicationMaster) it uses.
func RemoveStagingIn(ctx context.Context, fss *hdfs.FileSystems, stagingURL string) error {
	fsys, dir, err := fss.Resolve(ctx, stagingURL)
	if err != nil {
		return fmt.Errorf("staging dir: %w", err)
	}
	return RemoveStaging(ctx, fsys, dir)
}

// upload is one local file to stage, and how the container sees it.
type upload struct {
	key, stagedName, local string
	typ                    yarn.LocalResourceType
}

// plan sorts the files to ship into local uploads and remote resources used in place.
type plan struct {
	uploads []upload
	remote  map[string]yarn.LocalResource
}

func (p *plan) add(key string) error {
	if key == JobResource || key == ConfResource || key == ConfResource+".zip" {
		return fmt.Errorf("%q is a reserved name in the container", key)
	}
	for _, u := range p.uploads {
		if u.key == key {
			return fmt.Errorf("two files named %q in the container", key)
		}
	}
	if _, ok := p.remote[key]; ok {
		return fmt.Errorf("two files named %q in the container", key)
	}
	return nil
}

// addUser adds a --files or --archives entry. "path#name" renames it in the
// container, as in Spark; hdfs:// entries are not copied.
func (p *plan) addUser(ctx context.Context, fss *hdfs.FileSystems, entry string, typ yarn.LocalResourceType) error {
	src, name, _ := strings.Cut(entry, "#")
	if name == "" {
		name = path.Base(src)
	}
	if err := p.add(name); err != nil {
		return fmt.Errorf("%s: %w", entry, err)
	}
	if strings.Contains(src, "://") && !strings.HasPrefix(src, "file:") {
		fsys, inner, err := fss.Resolve(ctx, src)
		if err != nil {
			return err
		}
		st, err := fsys.Stat(ctx, inner)
		if err != nil {
			return fmt.Errorf("%s: %w", entry, err)
		}
		p.remote[name] = yarn.LocalResource{URL: src, Size: st.Size, Timestamp: st.ModTime.UnixMilli(), Type: typ}
		return nil
	}
	if strings.HasPrefix(src, "file:") {
		u, err := url.Parse(src)
		if err != nil {
			return fmt.Errorf("%s: %w", entry, err)
		}
		src = u.Path
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory (ship a file or an archive)", src)
	}
	// An archive's staged name keeps its extension: the NodeManager picks the
	// unpacker by it.
	staged := name
	if ext := archiveExt(src); typ == yarn.Archive && !strings.HasSuffix(strings.ToLower(name), ext) {
		staged += ext
	}
	for _, u := range p.uploads {
		if u.stagedName == staged {
			return fmt.Errorf("%s: two files staged as %q", entry, staged)
		}
	}
	p.uploads = append(p.uploads, upload{key: name, stagedName: staged, local: src, typ: typ})
	return nil
}

// archiveExt is the extension by which the NodeManager unpacks an archive.
func archiveExt(name string) string {
	lower := strings.ToLower(name)
	for _, ext := range []string{".tar.gz", ".tgz", ".tar", ".zip", ".jar"} {
		if strings.HasSuffix(lower, ext) {
			return ext
		}
	}
	return ""
}

// confArchive zips the Hadoop site files of dir into a temporary file.
func confArchive(dir, tmp string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("hadoop conf dir: %w", err)
	}
	f, err := os.Create(filepath.Join(tmp, ConfResource+".zip"))
	if err != nil {
		return "", fmt.Errorf("conf archive: %w", err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".xml") {
			continue
		}
		if err := addToZip(zw, filepath.Join(dir, e.Name()), e.Name()); err != nil {
			return "", fmt.Errorf("conf archive: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("conf archive: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("conf archive: %w", err)
	}
	return f.Name(), nil
}

func addToZip(zw *zip.Writer, src, name string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	w, err := zw.Create(name)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, in)
	return err
}
