/* Keeps a zombie child: forks a child that exits at once and never reaps it.
 *   native_zombie SECONDS
 * Prints "zombie PID" once /proc shows the child in state Z, then "ready";
 * after SECONDS reaps it, prints "exit ok" and exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char state_of(pid_t pid) {
  char path[64], text[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return '?';
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  char *close = strrchr(text, ')');
  return close && close[1] == ' ' ? close[2] : '?';
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 10;
  pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) _exit(0);
  for (int i = 0; i < 5000 && state_of(child) != 'Z'; i++) usleep(1000);
  if (state_of(child) != 'Z') return 1;
  printf("zombie %d\nready\n", (int)child);
  fflush(stdout);
  usleep((useconds_t)(seconds * 1e6));
  waitpid(child, NULL, 0);
  printf("exit ok\n");
  return 0;
}
