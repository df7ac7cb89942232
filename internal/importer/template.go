package importer

import (
	"bytes"

	"github.com/xuri/excelize/v2"
)

// Template is the import template: the header row, an example household,
// and a sheet explaining each column in Vietnamese and English.
func Template() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	header := make([]any, len(Columns))
	for i, c := range Columns {
		header[i] = c.Name
	}
	example := [][]any{
		{"30791", "VP-0001", "Ấp Tà Teng", "tổ 3", "rural", "0912345678", "không", "Nguyễn Văn An", "1978", "male", "", "head", 1, "không", "không"},
		{"30791", "VP-0001", "", "", "", "", "", "Trần Thị Bích", "1981-03-04", "female", "", "spouse", 1, "không", "không"},
		{"30791", "VP-0001", "", "", "", "", "", "Nguyễn Thị Diệu", "2014", "female", "", "child", 1, "không", "có", "primary"},
	}
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
	for i, c := range Columns {
		req := ""
		if c.Required {
			req = "x"
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow("Huong dan", cell, &[]any{c.Name, c.VI, c.EN, req}); err != nil {
			return nil, err
		}
	}
	note := "Mỗi dòng là một người; các dòng của một hộ (cùng mã xã và mã hộ) phải liền nhau, chủ hộ trước. " +
		"Thông tin của hộ lấy từ dòng đầu tiên của hộ."
	cell, _ := excelize.CoordinatesToCellName(1, len(Columns)+3)
	_ = f.SetCellValue("Huong dan", cell, note)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
