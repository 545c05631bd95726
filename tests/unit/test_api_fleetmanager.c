/* Unit tests for lib/api/fleetmanager: the FleetManager wire types as Go writes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "api/fleetmanager.h"

static void test_mac_from_ip(void **state)
{
	struct in_addr a;
	uint8_t mac[6];
	static const uint8_t want[6] = {0x52, 0x54, 0x0a, 0x00, 0x00, 0x05};

	(void)state;
	assert_int_equal(inet_pton(AF_INET, "10.0.0.5", &a), 1);
	fmapi_mac_from_ip(a, mac);
	assert_memory_equal(mac, want, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mac_from_ip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
