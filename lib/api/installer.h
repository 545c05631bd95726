/* api/installer: the wire types of the Installer service (port 6978), shared by the
 * installer and its clients (hyper-control, tests): method names and the enrolment
 * messages, declared from installer.def. */
#ifndef SS_API_INSTALLER_H
#define SS_API_INSTALLER_H

#define INSTAPI_DEFAULT_PORT 6978
#define INSTAPI_SERVICE "Installer"
#define INSTAPI_M_SHELL "Installer.Shell"
#define INSTAPI_M_GET_CSR "Installer.GetCertificateRequest"
#define INSTAPI_M_SET_CERTS "Installer.SetCertificates"

#include "schema.h"
#include "installer.def"

#endif
