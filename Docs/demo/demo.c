/* The bundled demo workload: a small "service" with two request handlers whose
 * cost differs, one worker thread, and a helper thread that mostly sleeps. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile double sink;

__attribute__((noinline)) static void parse_request(int n) {
  for (int i = 0; i < n * 1000; i++) sink += i * 0.5;
}
__attribute__((noinline)) static void render_response(int n) {
  for (int i = 0; i < n * 3000; i++) sink += i * 0.25;
}
__attribute__((noinline)) static void handle_request(int n) {
  parse_request(n);
  render_response(n);
}
static void *worker(void *arg) {
  (void)arg;
  for (;;) handle_request(20);
  return NULL;
}
static void *housekeeping(void *arg) {
  (void)arg;
  for (;;) usleep(100000);
  return NULL;
}

int main(void) {
  pthread_t a, b;
  pthread_create(&a, NULL, worker, NULL);
  pthread_create(&b, NULL, housekeeping, NULL);
  printf("ready\n");
  fflush(stdout);
  for (;;) handle_request(10);
}
