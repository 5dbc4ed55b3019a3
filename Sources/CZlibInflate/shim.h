// zlib, for inflating the parts of xlsx packages (SpreadsheetReading/Zip).
#include <zlib.h>
