// Debian's libopenblas-dev installs cblas.h through the alternatives system.
#include <cblas.h>
// Not declared in every cblas.h; OpenBLAS exports them.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
char *openblas_get_config(void);
