/* placeholder until the codec lands */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "_pdu", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__pdu(void) { return PyModule_Create(&m); }
