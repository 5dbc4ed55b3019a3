// Snowball's stemmers (libstemmer-dev, Snowball 2.2), for TextAnalysis.
#include <libstemmer.h>
