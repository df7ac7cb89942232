// Command genimport writes a synthetic import file in the template's layout
// for the import benchmark: n households of four (two adults with CCCDs, two
// children), spread over the communes given, their names and birth years
// drawn as the load harness draws them (bench.HouseholdBody: 22 family names,
// some 4,000 full names a sex), so that the name indexes grow as a real
// province's would. (Until issue 21's stop 31 every file held 25 names in
// all, each borne by 160,000 people at a million households.)
//
//	go run ./scripts/genimport -n 1000000 -communes 30791,31036 > households.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ansinh/ansinh/internal/bench"
	"github.com/ansinh/ansinh/internal/household"
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
	for i := range *n {
		c := cs[i%len(cs)]
		code := fmt.Sprintf("%s-%07d", *prefix, i)
		members := bench.HouseholdBody(code, c, i)["members"].([]map[string]any)
		minority, eth := "không", 1
		if f, _, _ := strings.Cut(members[0]["full_name"].(string), " "); f == "Danh" || f == "Thạch" {
			minority, eth = "có", 5
		}
		for j, m := range members {
			born := m["birth_date"].(string)
			id := ""
			if j < 2 { // the adults: a CCCD of their province, century and sex, and birth year
				year, _ := strconv.Atoi(born)
				id = bench.CCCD(1+i%96, year, household.Sex(m["sex"].(string)), i%1_000_000)
			}
			if j == 0 {
				fmt.Fprintf(w, "%s,%s,Ấp %d,tổ %d,rural,,%s,", c, code, 1+i%9, 1+i%12, minority)
			} else {
				fmt.Fprintf(w, "%s,%s,,,,,,", c, code)
			}
			fmt.Fprintf(w, "%s,%s,%s,%s,%s,%d,không,không\n", m["full_name"], born, m["sex"], id, m["relationship"], eth)
		}
	}
}
