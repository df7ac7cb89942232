package attachment

import (
	"fmt"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

var (
	errNotFound         = apperr.New(apperr.NotFound, "attachment_not_found", "no such attachment")
	errSubjectNotFound  = apperr.New(apperr.NotFound, "subject_not_found", "no such subject in your areas")
	errUploadNotFound   = apperr.New(apperr.NotFound, "upload_not_found", "no such upload of yours (finished uploads are attached once, unfinished ones expire)")
	errUploadIncomplete = apperr.New(apperr.Conflict, "upload_incomplete",
		"the upload has not received all its bytes: ask its offset (HEAD) and send the rest (PATCH)")
	errNoThumbnail = apperr.New(apperr.NotFound, "thumbnail_not_available", "this attachment has no thumbnail (only JPEG, PNG and WebP photos have one)")
	errArchived    = apperr.New(apperr.Conflict, "attachment_archived", "the attachment is archived already")
	errUnreadable  = apperr.New(apperr.Invalid, "attachment_unreadable", "the file is damaged or is not what its first bytes claim")
	errEmpty       = apperr.New(apperr.Invalid, "attachment_empty", "the file is empty")
)

func errTooLarge(kind string, max int64) error {
	return apperr.New(apperr.TooLarge, "attachment_too_large", "a %s file may be at most %d bytes (%s)", kind, max, human(max))
}

func errTypeNotAllowed(kind, detected string) error {
	if detected == "" {
		detected = "a type that is not accepted"
	}
	return apperr.New(apperr.UnsupportedMedia, "attachment_type_not_allowed",
		"the file's content is %s; a %s accepts %s (the type is read from the bytes, not the name)", detected, kind, typeNames(kind))
}

func errCannotStrip(kind, detected string) error {
	return apperr.New(apperr.UnsupportedMedia, "attachment_type_not_allowed",
		"a %s must have its location removed, which cannot be done for %s: send it as JPEG, PNG, WebP or PDF", kind, detected)
}

func typeNames(kind string) string {
	if kind == KindHousePhoto {
		return "JPEG, PNG, WebP or HEIC photos"
	}
	return "JPEG, PNG, WebP or HEIC photos and PDF documents"
}

func human(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// errTooManyUploads is a new resumable upload past the cap on a user's
// unfinished ones (they hold disk space until finished or expired).
func errTooManyUploads(n int) error {
	return apperr.New(apperr.TooManyRequests, "too_many_jobs",
		"you have %d unfinished uploads, as many as one user may: finish one (PATCH, then attach it) or abandon it (DELETE) first", n)
}
