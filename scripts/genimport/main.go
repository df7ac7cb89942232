// Command genimport writes a synthetic import file in the template's layout
// for the import benchmark: n households of four (two adults with CCCDs, two
// children), spread over the communes given.
//
//	go run ./scripts/genimport -n 1000000 -communes 30791,31036 > households.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	n := flag.Int("n", 1000, "households")
	communes := flag.String("communes", "30791", "commune codes, comma-separated")
	prefix := flag.String("prefix", "B", "household code prefix")
	flag.Parse()
	cs := strings.Split(*communes, ",")
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	fmt.Fprintln(w, "commune_code,household_code,village,address,area_type,phone,ethnic_minority,full_name,birth_date,sex,id_number,relationship,ethnicity_code,disability,student")
	family := []string{"Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Danh", "Thạch"}
	for i := range *n {
		c := cs[i%len(cs)]
		code := fmt.Sprintf("%s-%07d", *prefix, i)
		prov, yy, serial := 1+i%96, 50+(i/96)%50, i%1_000_000
		f := family[i%len(family)]
		minority := "không"
		eth := 1
		if f == "Danh" || f == "Thạch" {
			minority, eth = "có", 5
		}
		fmt.Fprintf(w, "%s,%s,Ấp %d,tổ %d,rural,,%s,%s Văn An,19%02d,male,%03d0%02d%06d,head,%d,không,không\n",
			c, code, 1+i%9, 1+i%12, minority, f, yy, prov, yy, serial, eth)
		fmt.Fprintf(w, "%s,%s,,,,,,Trần Thị Bích,19%02d-03-04,female,%03d1%02d%06d,spouse,%d,không,không\n", c, code, yy, prov, yy, serial, eth)
		fmt.Fprintf(w, "%s,%s,,,,,,%s Văn Cường,2010-05-02,male,,child,%d,không,có\n", c, code, f, eth)
		fmt.Fprintf(w, "%s,%s,,,,,,%s Thị Diệu,2014,female,,child,%d,không,có\n", c, code, f, eth)
	}
}
