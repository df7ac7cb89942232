package web

import (
	"net/http"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

// Stable codes of the problems the plumbing itself produces.
const (
	codeNotFound         = "route_not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeTooLarge         = "payload_too_large"
	codeInvalidJSON      = "invalid_json"
	codeUnsupportedMedia = "unsupported_media_type"
	codeNotReady         = "not_ready"
)

type text struct{ en, vi string }

var titles = map[int]text{
	http.StatusBadRequest:            {"Bad request", "Yêu cầu không hợp lệ"},
	http.StatusUnauthorized:          {"Unauthenticated", "Chưa xác thực"},
	http.StatusForbidden:             {"Forbidden", "Không có quyền"},
	http.StatusNotFound:              {"Not found", "Không tìm thấy"},
	http.StatusMethodNotAllowed:      {"Method not allowed", "Phương thức không được hỗ trợ"},
	http.StatusConflict:              {"Conflict", "Xung đột dữ liệu"},
	http.StatusGone:                  {"Gone", "Không còn lưu giữ"},
	http.StatusPreconditionFailed:    {"Precondition failed", "Điều kiện tiên quyết không thỏa mãn"},
	http.StatusRequestEntityTooLarge: {"Payload too large", "Dữ liệu gửi lên quá lớn"},
	http.StatusUnsupportedMediaType:  {"Unsupported media type", "Định dạng dữ liệu không được hỗ trợ"},
	http.StatusUnprocessableEntity:   {"Validation failed", "Dữ liệu không hợp lệ"},
	http.StatusPreconditionRequired:  {"Precondition required", "Thiếu điều kiện tiên quyết"},
	http.StatusTooManyRequests:       {"Too many requests", "Quá nhiều yêu cầu"},
	http.StatusInternalServerError:   {"Internal server error", "Lỗi máy chủ"},
	http.StatusServiceUnavailable:    {"Service unavailable", "Dịch vụ tạm thời không sẵn sàng"},
}

func title(status int, vi bool) string {
	t, ok := titles[status]
	if !ok {
		return http.StatusText(status)
	}
	if vi {
		return t.vi
	}
	return t.en
}

// details are the client-facing explanations by stable code. A code missing
// here shows the error's own English message (and that in Vietnamese too,
// until someone translates it: add it here).
var details = map[string]text{
	"internal":              {"An unexpected error occurred. The request id identifies it in our logs.", "Đã xảy ra lỗi không mong muốn. Mã yêu cầu giúp tra cứu trong nhật ký hệ thống."},
	"unavailable":           {"The service is temporarily unavailable; retry later.", "Dịch vụ tạm thời không sẵn sàng; vui lòng thử lại sau."},
	"database_unavailable":  {"The database is unavailable; retry later.", "Cơ sở dữ liệu tạm thời không sẵn sàng; vui lòng thử lại sau."},
	codeTimeout:             {"The request did not finish in time; retry later.", "Yêu cầu không hoàn thành kịp thời hạn; vui lòng thử lại sau."},
	codeNotReady:            {"The service is not ready: the database does not answer.", "Dịch vụ chưa sẵn sàng: cơ sở dữ liệu không phản hồi."},
	codeNotFound:            {"No such resource.", "Không có tài nguyên này."},
	codeMethodNotAllowed:    {"This method is not allowed on this resource.", "Tài nguyên này không hỗ trợ phương thức đã dùng."},
	codeTooLarge:            {"The request body is larger than the server accepts.", "Dữ liệu gửi lên vượt quá giới hạn máy chủ cho phép."},
	codeInvalidJSON:         {"The request body is not valid JSON for this operation.", "Nội dung yêu cầu không phải JSON hợp lệ cho thao tác này."},
	codeUnsupportedMedia:    {"The request body must be application/json.", "Nội dung yêu cầu phải ở định dạng application/json."},
	"validation_failed":     {"The request has invalid fields.", "Yêu cầu có trường dữ liệu không hợp lệ."},
	"not_found":             {"The record does not exist.", "Bản ghi không tồn tại."},
	"duplicate":             {"A record with the same unique values already exists.", "Đã tồn tại bản ghi có cùng giá trị duy nhất."},
	"reference_not_found":   {"The request refers to a record that does not exist.", "Yêu cầu tham chiếu tới bản ghi không tồn tại."},
	"constraint_violated":   {"The request breaks a rule of the data.", "Yêu cầu vi phạm ràng buộc dữ liệu."},
	"invalid_value":         {"A value in the request is out of range or malformed.", "Một giá trị trong yêu cầu nằm ngoài phạm vi hoặc sai định dạng."},
	"concurrent_update":     {"The record was changed concurrently; retry.", "Bản ghi vừa bị thay đổi đồng thời; vui lòng thử lại."},
	"precondition_failed":   {"The record has changed since you read it.", "Bản ghi đã thay đổi kể từ lần bạn đọc."},
	"precondition_required": {"This update requires an If-Match header.", "Thao tác cập nhật này cần tiêu đề If-Match."},
	"sync_cursor_expired":   {"", "Vị trí đồng bộ không còn hợp lệ: hãy xóa dữ liệu trên máy và đồng bộ lại từ đầu."},
	"unauthenticated":       {"Sign in to use this route.", "Vui lòng đăng nhập để sử dụng chức năng này."},
	"forbidden":             {"Your role does not allow this.", "Vai trò của bạn không được phép thực hiện thao tác này."},
	"audit_event_not_found": {"No such audit event.", "Không có sự kiện nhật ký này."},
	"export_too_large":      {"", "Bộ lọc khớp quá nhiều bản ghi để xuất; hãy thu hẹp (thời gian, địa bàn)."},
	// Rate limits (access.Limits) and caps on a user's background work: the English detail is the error's own.
	"rate_limited":  {"", "Bạn đã gửi quá nhiều yêu cầu loại này; vui lòng thử lại sau số giây ghi trong Retry-After."},
	"too_many_jobs": {"", "Bạn đang có quá nhiều việc chưa xong (lượt nhập dữ liệu đang chạy, lượt tải tệp dở dang); hãy chờ hoặc hoàn tất một việc rồi thử lại."},
	// Evidence attachments (internal/attachment): the English detail is the error's own.
	"attachment_not_found":        {"", "Không có tệp đính kèm này."},
	"subject_not_found":           {"", "Không có đối tượng này trong địa bàn của bạn."},
	"attachment_too_large":        {"", "Tệp vượt quá dung lượng cho phép của loại tài liệu này; tệp lớn hãy gửi bằng tải lên tiếp nối (/api/v1/uploads)."},
	"attachment_body_type":        {"", "Hãy gửi application/json kèm upload_id của một lượt tải lên đã hoàn tất, hoặc gửi tệp dạng multipart/form-data."},
	"attachment_type_not_allowed": {"", "Định dạng tệp (xác định từ nội dung) không được chấp nhận cho loại tài liệu này: ảnh JPEG, PNG, WebP, HEIC hoặc tài liệu PDF."},
	"attachment_unreadable":       {"", "Tệp bị hỏng hoặc không đúng định dạng như nội dung của nó thể hiện."},
	"attachment_empty":            {"", "Tệp rỗng."},
	"attachment_archived":         {"", "Tệp đính kèm đã được lưu trữ trước đó."},
	"thumbnail_not_available":     {"", "Tệp đính kèm này không có ảnh thu nhỏ."},
	"upload_not_found":            {"", "Không có lượt tải lên này của bạn (lượt đã hoàn tất chỉ đính kèm một lần, lượt dở dang sẽ hết hạn)."},
	"upload_incomplete":           {"", "Chưa nhận đủ dữ liệu của tệp: hỏi vị trí đã nhận (HEAD) rồi gửi tiếp phần còn lại (PATCH)."},
	"storage_unavailable":         {"", "Kho lưu trữ tệp tạm thời không phản hồi; vui lòng thử lại."},
}

func detail(code, en string, vi bool) string {
	t, ok := details[code]
	switch {
	case vi && ok:
		return t.vi
	case en != "":
		return en
	case ok:
		return t.en
	}
	return ""
}

// fieldDetails translate the common field error codes.
var fieldDetails = map[string]text{
	"required":     {"is required", "là bắt buộc"},
	"invalid":      {"is not valid", "không hợp lệ"},
	"too_long":     {"is too long", "quá dài"},
	"too_short":    {"is too short", "quá ngắn"},
	"too_large":    {"is too large", "quá lớn"},
	"too_small":    {"is too small", "quá nhỏ"},
	"unknown":      {"is not a known field", "không phải trường được hỗ trợ"},
	"type":         {"has the wrong type", "sai kiểu dữ liệu"},
	"invalid_utf8": {"is not UTF-8 text", "không phải văn bản UTF-8"},
}

func fieldDetail(f apperr.FieldError, vi bool) string {
	t, ok := fieldDetails[f.Code]
	switch {
	case vi && ok:
		return t.vi
	case f.Message != "":
		return f.Message
	case ok:
		return t.en
	}
	return f.Code
}
