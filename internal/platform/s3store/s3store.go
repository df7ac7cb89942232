// Package s3store connects to S3-compatible object storage (MinIO, or a
// cloud's) for the packages that keep objects there: attachments and the
// audit witness.
package s3store

import (
	"net/http"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Options say where the bucket is and how to sign in to it.
type Options struct {
	Endpoint  string // host:port, without the scheme
	UseSSL    bool
	Bucket    string
	Region    string
	AccessKey string
	SecretKey string
	PathStyle bool // bucket in the path (MinIO), not in the host name
	// Transport replaces the HTTP transport (tests); nil is the default.
	Transport http.RoundTripper
}

// Client makes a client for o's endpoint (it does not contact it).
func Client(o Options) (*minio.Client, error) {
	lookup := minio.BucketLookupAuto
	if o.PathStyle {
		lookup = minio.BucketLookupPath
	}
	return minio.New(o.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure: o.UseSSL, Region: o.Region, BucketLookup: lookup, Transport: o.Transport,
	})
}
