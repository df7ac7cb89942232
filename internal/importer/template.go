package importer

import (
	"bytes"

	"github.com/xuri/excelize/v2"
)

// templates are the import templates: their columns, an example
// household, and how the rows go together.
var templates = map[string]struct {
	columns []Column
	example [][]any
	note    string
}{
	Households: {Columns, [][]any{
		{"30791", "VP-0001", "Ấp Tà Teng", "tổ 3", "rural", "0912345678", "không", "Nguyễn Văn An", "1978", "male", "", "head", 1, "không", "không"},
		{"30791", "VP-0001", "", "", "", "", "", "Trần Thị Bích", "1981-03-04", "female", "", "spouse", 1, "không", "không"},
		{"30791", "VP-0001", "", "", "", "", "", "Nguyễn Thị Diệu", "2014", "female", "", "child", 1, "không", "có", "primary"},
	}, "Mỗi dòng là một người; các dòng của một hộ (cùng mã xã và mã hộ) phải liền nhau, chủ hộ trước. " +
		"Thông tin của hộ lấy từ dòng đầu tiên của hộ."},
	History: {HistoryColumns, [][]any{
		{2016, "30791", "VP-0001", "Nguyễn Văn An", "poor", "125/QĐ-UBND", "2016-12-20", "Ấp Tà Teng", "rural", "1978", "male", 600000,
			"health_insurance;floor_area;toilet"},
		{2017, "30791", "VP-0001", "Nguyễn Văn An", "poor", "98/QĐ-UBND", "2017-12-18"},
		{2018, "30791", "VP-0001", "Nguyễn Văn An", "average", "101/QĐ-UBND", "2018-12-21"},
	}, "Mỗi dòng là một hộ trong danh sách được công nhận của một năm (nghèo, cận nghèo, hoặc thoát nghèo: average); " +
		"các dòng của một hộ liền nhau, theo thứ tự năm. Mã xã theo đơn vị hành chính tại ngày quyết định. " +
		"Hộ chưa có trong hệ thống được tạo mới từ thôn/ấp, năm sinh và giới tính của chủ hộ ở dòng đầu."},
}

// Template is the import template of what (Households or History): the
// header row, an example household, and a sheet explaining each column in
// Vietnamese and English.
func Template(what string) ([]byte, error) {
	t, ok := templates[what]
	if !ok {
		return nil, errWhat()
	}
	f := excelize.NewFile()
	defer f.Close()
	header := make([]any, len(t.columns))
	for i, c := range t.columns {
		header[i] = c.Name
	}
	example := t.example
	if err := f.SetSheetRow("Sheet1", "A1", &header); err != nil {
		return nil, err
	}
	for i, row := range example {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			return nil, err
		}
	}
	if _, err := f.NewSheet("Huong dan"); err != nil {
		return nil, err
	}
	_ = f.SetSheetRow("Huong dan", "A1", &[]any{"Cột", "Ý nghĩa", "Meaning", "Bắt buộc / Required"})
	for i, c := range t.columns {
		req := ""
		if c.Required {
			req = "x"
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow("Huong dan", cell, &[]any{c.Name, c.VI, c.EN, req}); err != nil {
			return nil, err
		}
	}
	cell, _ := excelize.CoordinatesToCellName(1, len(t.columns)+3)
	_ = f.SetCellValue("Huong dan", cell, t.note)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
