/* Smallest native fixture: main -> middle -> leaf, spinning forever. */
#include <stdio.h>
volatile long sink;
__attribute__((noinline)) void leaf(void) { for (long i = 0; i < 100000; i++) sink += i; }
__attribute__((noinline)) void middle(void) { leaf(); }
int main(void) {
  printf("ready\n");
  fflush(stdout);
  for (;;) middle();
}
