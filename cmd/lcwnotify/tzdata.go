package main

// The zone database is embedded (about 450 kB) so that LCW_DIGEST_TZ reads the same on
// every image: scratch and other minimal images have no /usr/share/zoneinfo, and
// time.LoadLocation would refuse every zone but UTC there.
import _ "time/tzdata"
