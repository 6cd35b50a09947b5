/* The vector hex decoder (SSE2 on x86-64, NEON on 64-bit ARM) against a plain one:
 * random lengths, every byte value at many positions. `make check-simd` runs it
 * natively and, cross-compiled, on aarch64 under qemu, so the NEON path that only
 * the Raspberry Pi executes is checked on this machine too. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#define PDU_API static
#include "../appliance/pdu/pdu_core.c"
static int plain(const char *s, size_t n, uint8_t *out, size_t *bad) {
  for (size_t i = 0; i < n; i++) if (hex_value[(unsigned char)s[i]] < 0) { *bad = i; return -1; }
  if (n % 2) { *bad = n; return -1; }
  for (size_t i = 0; i < n; i += 2) out[i/2] = (uint8_t)(hex_value[(unsigned char)s[i]] << 4 | hex_value[(unsigned char)s[i+1]]);
  return 0;
}
int main(void) {
  pdu_core_init();
  char s[96]; uint8_t a[48], b[48]; size_t ba, bb; long checks = 0;
  const char *digits = "0123456789abcdefABCDEF";
  srand(1);
  for (int round = 0; round < 20000; round++) {
    size_t n = (size_t)(rand() % 96);
    for (size_t i = 0; i < n; i++) s[i] = digits[rand() % 22];
    for (int pos = -1; pos < (int)n; pos += (round % 7) + 1) {
      int c = rand() % 256;
      char saved = pos >= 0 ? s[pos] : 0;
      if (pos >= 0) s[pos] = (char)c;
      ba = bb = 12345;
      int ra = pdu_hex_decode(s, n, a, &ba), rb = plain(s, n, b, &bb);
      if (ra != rb || (ra == 0 && memcmp(a, b, n / 2)) || (ra < 0 && ba != bb)) {
        printf("MISMATCH n=%zu pos=%d c=%d\n", n, pos, c); return 1;
      }
      checks++;
      if (pos >= 0) s[pos] = saved;
    }
  }
  printf("ok %ld checks\n", checks);
  return 0;
}
