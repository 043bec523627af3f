

def test_code_ids_sort_by_their_numbers():
    from taxonomy import code_order

    assert sorted(["10.2", "1.1", "2.2", "RA.1", "16.3", "1.10", "1.2", "3"], key=code_order) == [
        "1.1", "1.2", "1.10", "2.2", "3", "10.2", "16.3", "RA.1"]
