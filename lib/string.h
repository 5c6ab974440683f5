#pragma once
/* The few C library string functions the kernel uses (GCC may also emit calls to them). */
#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int value, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncasecmp(const char *a, const char *b, size_t n);
/* Copies at most size-1 characters and always terminates; returns strlen(src). */
size_t strlcpy(char *dst, const char *src, size_t size);
