/* api/installer: descriptors of the Installer messages (generated from installer.def). */
#include "installer.h"

#define API_SCHEMA_DEFINE
#include "schema.h"
#include "installer.def"
#undef API_SCHEMA_DEFINE
