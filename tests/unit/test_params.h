/*  test_params - parameterised criterion tests over a static case table.
 *
 *  Criterion may run each case in a re-executed process, where pointers made
 *  by this one are meaningless: cases are therefore passed as indices into a
 *  static table. Use as the whole body of ParameterizedTestParameters.
 */
#ifndef TEST_PARAMS_H_INCLUDED
#define TEST_PARAMS_H_INCLUDED

#include <criterion/parameterized.h>
#include <stddef.h>

#define OB_TEST_CASE_INDICES(table)                                                                                                \
    do {                                                                                                                           \
        static size_t indices_[sizeof(table) / sizeof((table)[0])];                                                                \
        for (size_t i_ = 0; i_ < sizeof indices_ / sizeof indices_[0]; i_++)                                                       \
            indices_[i_] = i_;                                                                                                     \
        return cr_make_param_array(size_t, indices_, sizeof indices_ / sizeof indices_[0]);                                        \
    } while (0)

#endif
