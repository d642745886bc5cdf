//! Phases a Rust user understands, from rustc's self-profile labels.
//!
//! Every label maps to one [`Phase`] through [`RULES`], the one table of this mapping: rules
//! are tried in order, the first match wins (exact names first, then prefixes, suffixes and
//! substrings). It covers the labels rustc 1.95 and nightly 1.97 (2026-05-19) emit with
//! `-Zself-profile-events=default,args` and `all` (including LLVM pass names), checked on
//! real profiles of `syn` and of small crates; a label no rule matches goes to
//! [`Phase::Other`] and is listed as unknown, never dropped.
//!
//! Time is self time (a query's time minus the queries it called), so nested work counts in
//! its own phase: the `typeck` that asks for `evaluate_obligation` is type checking, the
//! obligation is trait solving. Incremental loading and hashing done on behalf of a query
//! (summarize's *Incr load* and *Incr hash*) count as incremental bookkeeping.
//! `self_profile_alloc_query_strings` is the profiler's own cost: set apart, not a phase of
//! the build.

use serde::Serialize;

use crate::summary::LabelStats;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    ParsingAndExpansion,
    NameResolution,
    TypeChecking,
    TraitSolving,
    BorrowChecking,
    Mir,
    Monomorphization,
    LlvmOptimization,
    LlvmCodegen,
    Lto,
    Linking,
    CrateMetadata,
    Incremental,
    /// The profiler's own cost (`self_profile_alloc_query_strings`).
    ProfilerOverhead,
    /// rustc's threads waiting for LLVM's: the coordinator's `LLVM_passes` span, the main
    /// thread's `finish_ongoing_codegen` and `codegen_crate`'s own time (between codegen
    /// units), which cover the workers' events in time.
    /// Not work: counting it would count code generation twice.
    WaitingForCodegen,
    /// Labels no rule knows: reported, never dropped.
    Other,
}

impl Phase {
    pub const ALL: [Phase; 16] = [
        Phase::ParsingAndExpansion,
        Phase::NameResolution,
        Phase::TypeChecking,
        Phase::TraitSolving,
        Phase::BorrowChecking,
        Phase::Mir,
        Phase::Monomorphization,
        Phase::LlvmOptimization,
        Phase::LlvmCodegen,
        Phase::Lto,
        Phase::Linking,
        Phase::CrateMetadata,
        Phase::Incremental,
        Phase::ProfilerOverhead,
        Phase::WaitingForCodegen,
        Phase::Other,
    ];

    /// Whether time in this phase is the compiler's work (not the profiler's, nor a thread
    /// waiting for others).
    pub fn is_work(self) -> bool {
        !matches!(self, Phase::ProfilerOverhead | Phase::WaitingForCodegen)
    }

    pub fn title(self) -> &'static str {
        match self {
            Phase::ParsingAndExpansion => "Parsing and macro expansion",
            Phase::NameResolution => "Name resolution and HIR",
            Phase::TypeChecking => "Type checking and lints",
            Phase::TraitSolving => "Trait solving",
            Phase::BorrowChecking => "Borrow checking",
            Phase::Mir => "MIR building, const eval and optimisation",
            Phase::Monomorphization => "Monomorphization and LLVM IR generation",
            Phase::LlvmOptimization => "LLVM optimisation",
            Phase::LlvmCodegen => "LLVM code generation",
            Phase::Lto => "Link-time optimisation",
            Phase::Linking => "Linking",
            Phase::CrateMetadata => "Crate metadata (reading and writing)",
            Phase::Incremental => "Incremental bookkeeping",
            Phase::ProfilerOverhead => "Profiler overhead (not part of the build)",
            Phase::WaitingForCodegen => "Waiting for LLVM's threads (not work)",
            Phase::Other => "Other (labels buildscope does not know)",
        }
    }
}

/// How a rule matches a label.
#[derive(Debug, Clone, Copy)]
pub enum Match {
    Exact(&'static str),
    Prefix(&'static str),
    Suffix(&'static str),
    Contains(&'static str),
    /// A name like `InstCombinePass` or `PassManager<Function>`: LLVM's passes are named
    /// in CamelCase, rustc's activities in snake_case.
    CamelCase,
}

impl Match {
    fn matches(self, label: &str) -> bool {
        match self {
            Match::Exact(s) => label == s,
            Match::Prefix(s) => label.starts_with(s),
            Match::Suffix(s) => label.ends_with(s),
            Match::Contains(s) => label.contains(s),
            Match::CamelCase => {
                label.starts_with(|c: char| c.is_ascii_uppercase())
                    && !label.contains('_')
                    && label.chars().any(|c| c.is_ascii_lowercase())
            }
        }
    }
}

use Match::{CamelCase, Contains, Exact, Prefix, Suffix};
use Phase::*;

/// The mapping, in order: the first rule that matches a label decides its phase.
pub const RULES: &[(Match, Phase)] = &[
    // The profiler itself.
    (Exact("self_profile_alloc_query_strings"), ProfilerOverhead),
    // Incremental compilation's own work: loading, hashing, encoding, copying.
    (Prefix("incr_comp_"), Incremental),
    (Prefix("incr_result_hashing"), Incremental),
    (Prefix("encode_query_results"), Incremental),
    (Exact("serialize_dep_graph"), Incremental),
    (Exact("serialize_work_products"), Incremental),
    (Exact("drop_dep_graph"), Incremental),
    (Exact("codegen_copy_artifacts_from_incr_cache"), Incremental),
    (
        Exact("copy_all_cgu_workproducts_to_incr_comp_cache_dir"),
        Incremental,
    ),
    (Exact("assert_dep_graph"), Incremental),
    (Exact("check_clean"), Incremental),
    (Exact("dep_graph_try_mark_green"), Incremental),
    // Crate metadata: reading dependencies' and writing this crate's.
    (Prefix("metadata_decode_entry_"), CrateMetadata),
    (Exact("metadata_register_crate"), CrateMetadata),
    (Exact("generate_crate_metadata"), CrateMetadata),
    (Exact("write_crate_metadata"), CrateMetadata),
    (Exact("crate_hash"), CrateMetadata),
    (Suffix("_symbols"), CrateMetadata),
    (Exact("reachable_non_generics"), CrateMetadata),
    (Exact("is_reachable_non_generic"), CrateMetadata),
    (Exact("crate_metadata_loading"), CrateMetadata),
    // Linking.
    (Prefix("link"), Linking),
    (Exact("run_linker"), Linking),
    (Exact("write_allocator_module"), Linking),
    // Threads waiting for LLVM's worker threads: spans over the workers' own events.
    (Exact("LLVM_passes"), WaitingForCodegen),
    (Exact("finish_ongoing_codegen"), WaitingForCodegen),
    // LLVM: LTO, code generation, optimisation (pass names come with `-Zself-profile-events=llvm`).
    (Contains("lto"), Lto),
    (Contains("LTO"), Lto),
    (Prefix("LLVM_module_codegen"), LlvmCodegen),
    (Exact("codegen_module_perform_lto"), Lto),
    (Exact("target_machine_factory"), LlvmCodegen),
    (Exact("target_machine_factory_inner"), LlvmCodegen),
    (Prefix("LLVM_"), LlvmOptimization),
    (Exact("codegen_module_optimize"), LlvmOptimization),
    (Suffix("Pass"), LlvmOptimization),
    (Suffix("PassAdaptor"), LlvmOptimization),
    (Suffix("Analysis"), LlvmOptimization),
    (Exact("AAManager"), LlvmOptimization),
    // Monomorphization: collecting instances, partitioning, generating LLVM IR for them.
    // The main thread between codegen units, its self time: waiting for the coordinator's
    // signal to generate the next one (on ripgrep's `rg`, the crate's summed self time
    // exceeded its measured CPU by 1.25 s; `codegen_crate`'s self time was 1.30 s).
    (Exact("codegen_crate"), WaitingForCodegen),
    (Exact("codegen_module"), Monomorphization),
    (Exact("collect_and_partition_mono_items"), Monomorphization),
    (Exact("items_of_instance"), Monomorphization),
    (Prefix("monomorphization_collector"), Monomorphization),
    (Prefix("cgu_partitioning"), Monomorphization),
    (
        Exact("partition_and_assert_distinct_symbols"),
        Monomorphization,
    ),
    (Exact("assert_symbols_are_distinct"), Monomorphization),
    (Exact("symbol_name"), Monomorphization),
    (Exact("fn_abi_of_instance"), Monomorphization),
    (Exact("fn_abi_of_fn_ptr"), Monomorphization),
    (Exact("check_mono_item"), Monomorphization),
    (Exact("resolve_instance_raw"), Monomorphization),
    (Prefix("upstream_monomorphizations"), Monomorphization),
    (Exact("upstream_drop_glue_for"), Monomorphization),
    (Prefix("vtable_"), Monomorphization),
    (Exact("own_existential_vtable_entries"), Monomorphization),
    (Exact("mir_shims"), Monomorphization),
    (Exact("size_estimate"), Monomorphization),
    (Exact("compute_debuginfo_type_name"), Monomorphization),
    (Exact("codegen_fn_attrs"), Monomorphization),
    (Exact("cross_crate_inlinable"), Monomorphization),
    (Exact("codegen_select_candidate"), TraitSolving),
    // Borrow checking.
    (Exact("mir_borrowck"), BorrowChecking),
    (Exact("MIR_borrow_checking"), BorrowChecking),
    (Exact("check_liveness"), BorrowChecking),
    (Exact("region_scope_tree"), BorrowChecking),
    (Exact("nested_bodies_within"), BorrowChecking),
    // Trait solving: obligations, normalization, selection, coherence.
    (Contains("obligation"), TraitSolving),
    (Prefix("evaluate_"), TraitSolving),
    (Prefix("type_op_"), TraitSolving),
    (Contains("normalize"), TraitSolving),
    (Exact("dropck_outlives"), TraitSolving),
    (Exact("adt_dtorck_constraint"), TraitSolving),
    (Exact("implied_outlives_bounds"), TraitSolving),
    (Exact("specialization_graph_of"), TraitSolving),
    (Exact("specializes"), TraitSolving),
    (Exact("trait_impls_of"), TraitSolving),
    (Exact("implementations_of_trait"), TraitSolving),
    (Exact("coherent_trait"), TraitSolving),
    (Exact("orphan_check_impl"), TraitSolving),
    (Exact("crate_inherent_impls_overlap_check"), TraitSolving),
    (Exact("impl_parent"), TraitSolving),
    (Exact("impl_trait_header"), TraitSolving),
    (Exact("method_autoderef_steps"), TraitSolving),
    (
        Exact("instantiate_and_check_impossible_predicates"),
        TraitSolving,
    ),
    (Exact("impossible_predicates"), TraitSolving),
    (Exact("check_coroutine_obligations"), TraitSolving),
    (Exact("adt_drop_tys"), TraitSolving),
    (Exact("adt_significant_drop_tys"), TraitSolving),
    // Type properties proved by trait solving: is_copy_raw, needs_drop_raw, ...
    (Exact("is_copy_raw"), TraitSolving),
    (Exact("is_unsafe_unpin_raw"), TraitSolving),
    (Exact("is_use_cloned_raw"), TraitSolving),
    (Exact("is_sized_raw"), TraitSolving),
    (Exact("is_freeze_raw"), TraitSolving),
    (Exact("is_unpin_raw"), TraitSolving),
    (Exact("is_async_drop_raw"), TraitSolving),
    (Exact("needs_drop_raw"), TraitSolving),
    (Exact("needs_async_drop_raw"), TraitSolving),
    (Exact("has_significant_drop_raw"), TraitSolving),
    // MIR: building, checking, const evaluation, optimisation passes.
    (Prefix("mir_"), Mir),
    (Prefix("thir_"), Mir),
    (Exact("optimized_mir"), Mir),
    (Exact("promoted_mir"), Mir),
    (Exact("check_match"), Mir),
    (Exact("check_unsafety"), Mir),
    (Exact("check_tail_calls"), Mir),
    (Exact("MIR_effect_checking"), Mir),
    (Prefix("eval_to_"), Mir),
    (Prefix("const_"), Mir),
    (Exact("valtree_to_const_val"), Mir),
    (Exact("trivial_const"), Mir),
    (Exact("layout_of"), Mir),
    (Exact("has_ffi_unwind_calls"), Mir),
    (Exact("check_transmutes"), Mir),
    (Exact("inhabited_predicate_type"), Mir),
    (Exact("inhabited_predicate_adt"), Mir),
    // Parsing and macro expansion.
    (Exact("parse_crate"), ParsingAndExpansion),
    (Contains("expand"), ParsingAndExpansion),
    (Exact("pre_AST_expansion_lint_checks"), ParsingAndExpansion),
    (Exact("AST_validation"), ParsingAndExpansion),
    (Exact("crate_injection"), ParsingAndExpansion),
    (Exact("maybe_building_test_harness"), ParsingAndExpansion),
    (Exact("maybe_create_a_macro_crate"), ParsingAndExpansion),
    (Exact("metadata_load_macro"), ParsingAndExpansion),
    (Exact("early_lint_checks"), ParsingAndExpansion),
    (Exact("drop_ast"), ParsingAndExpansion),
    (Exact("proc_macro_decls_static"), ParsingAndExpansion),
    (Exact("check_unused_macros"), ParsingAndExpansion),
    // Name resolution and lowering to HIR.
    (Prefix("resolve"), NameResolution),
    (Exact("late_resolve_crate"), NameResolution),
    (Prefix("finalize_"), NameResolution),
    (Exact("compute_effective_visibilities"), NameResolution),
    (Prefix("hir_"), NameResolution),
    (Exact("opt_hir_owner_nodes"), NameResolution),
    (Exact("local_def_id_to_hir_id"), NameResolution),
    (Exact("lower_to_hir"), NameResolution),
    (Exact("opt_ast_lowering_delayed_lints"), NameResolution),
    (Exact("module_children"), NameResolution),
    (Exact("visible_parent_map"), NameResolution),
    (Exact("registered_tools"), NameResolution),
    (Exact("lint_reexports"), NameResolution),
    // Type checking, well-formedness, privacy, stability and lint passes.
    (Exact("typeck"), TypeChecking),
    (Prefix("type_"), TypeChecking),
    (Prefix("check_"), TypeChecking),
    (Contains("lint"), TypeChecking),
    (Contains("predicates"), TypeChecking),
    (Contains("variances"), TypeChecking),
    (Contains("outlives"), TypeChecking),
    (Prefix("adt_"), TypeChecking),
    (Prefix("fn_"), TypeChecking),
    (Exact("generics_of"), TypeChecking),
    (Exact("param_env"), TypeChecking),
    (
        Exact("typing_env_normalized_for_post_analysis"),
        TypeChecking,
    ),
    (Exact("compare_impl_item"), TypeChecking),
    (Prefix("opaque_"), TypeChecking),
    (Exact("effective_visibilities"), TypeChecking),
    (
        Exact("live_symbols_and_ignored_derived_traits"),
        TypeChecking,
    ),
    (Exact("privacy_checking_modules"), TypeChecking),
    (Prefix("misc_checking"), TypeChecking),
    (Exact("analysis"), TypeChecking),
    (Exact("coherence_checking"), TypeChecking),
    (Exact("wf_checking"), TypeChecking),
    (Exact("upvars_mentioned"), TypeChecking),
    (Exact("used_trait_imports"), TypeChecking),
    // Queries about items that feed the checks above.
    (Prefix("associated_"), TypeChecking),
    (Prefix("def_"), TypeChecking),
    (Prefix("impl_"), TypeChecking),
    (Prefix("trait_"), TypeChecking),
    (Prefix("explicit_"), TypeChecking),
    (Prefix("inferred_"), TypeChecking),
    (Exact("visibility"), TypeChecking),
    (Exact("attrs_for_def"), TypeChecking),
    (Exact("is_doc_hidden"), TypeChecking),
    (Exact("defaultness"), TypeChecking),
    (Exact("constness"), TypeChecking),
    (Exact("asyncness"), TypeChecking),
    (Exact("codegen_fn_attrs"), TypeChecking),
    (Exact("intrinsic_raw"), TypeChecking),
    (Exact("is_mir_available"), Mir),
    (Exact("representability"), TypeChecking),
    (Exact("representability_adt_ty"), TypeChecking),
    (Exact("specialization_enabled_in"), TypeChecking),
    (Prefix("lookup_"), TypeChecking),
    (Exact("stability_implications"), TypeChecking),
    (Exact("resolve_bound_vars"), TypeChecking),
    (Exact("is_late_bound_map"), TypeChecking),
    (Exact("named_variable_map"), TypeChecking),
    (Exact("object_lifetime_default"), TypeChecking),
    (Exact("crate_variances"), TypeChecking),
    (Exact("diagnostic_items"), TypeChecking),
    (Exact("all_diagnostic_items"), TypeChecking),
    (Exact("get_lang_items"), TypeChecking),
    (Exact("traits"), TypeChecking),
    (Exact("mir_keys"), Mir),
    // LLVM analyses and pass managers (`-Zself-profile-events=llvm`).
    (Suffix("AA"), LlvmOptimization),
    (Contains("AnalysisManager"), LlvmOptimization),
    (Prefix("Coro"), LlvmOptimization),
    // Codegen scheduling and reuse, and per-instance properties.
    (Exact("reachable_set"), Monomorphization),
    (Exact("sanitizer_settings_for"), Monomorphization),
    (Exact("should_inherit_track_caller"), Monomorphization),
    (Exact("is_codegened_item"), Monomorphization),
    (Exact("is_unreachable_local_definition"), Monomorphization),
    (Exact("codegen_unit"), Monomorphization),
    (Exact("first_method_vtable_slot"), Monomorphization),
    (Exact("erase_and_anonymize_regions_ty"), Monomorphization),
    (Exact("join_worker_thread"), WaitingForCodegen),
    (Exact("backend_optimization_level"), LlvmCodegen),
    (Exact("global_backend_features"), LlvmCodegen),
    (Exact("rust_target_features"), LlvmCodegen),
    (Exact("find_cgu_reuse"), Incremental),
    (Exact("symbol_mangling_version"), Monomorphization),
    (Exact("coerce_unsized_info"), Monomorphization),
    (Exact("unsizing_params_for_adt"), Monomorphization),
    // Const evaluation.
    (Exact("eval_static_initializer"), Mir),
    (Exact("lit_to_const"), Mir),
    (Exact("is_promotable_const_fn"), Mir),
    (Exact("is_rhs_type_const"), Mir),
    (Exact("anon_const_kind"), Mir),
    (Exact("closure_saved_names_of_captured_variables"), Mir),
    (Exact("closure_typeinfo"), Mir),
    (Exact("coroutine_kind"), Mir),
    (Exact("layout_testing"), Mir),
    (Exact("abi_testing"), Mir),
    // Trait and impl bookkeeping.
    (Contains("inherent_impls"), TraitSolving),
    (Contains("incoherent_impls"), TraitSolving),
    (Contains("local_trait_impls"), TraitSolving),
    (Contains("dyn_compatib"), TraitSolving),
    (Exact("in_scope_traits_map"), NameResolution),
    (Exact("generics_require_sized_self"), TraitSolving),
    (Exact("item_bounds"), TypeChecking),
    (Exact("item_self_bounds"), TypeChecking),
    (Exact("assumed_wf_types"), TypeChecking),
    (
        Exact("enforce_impl_non_lifetime_params_are_constrained"),
        TypeChecking,
    ),
    (Exact("late_bound_vars_map"), TypeChecking),
    (Exact("params_in_repr"), TypeChecking),
    (Exact("inherited_align"), TypeChecking),
    (Exact("ty_span"), TypeChecking),
    (Exact("rendered_precise_capturing_args"), TypeChecking),
    (Exact("reveal_opaque_types_in_bounds"), TypeChecking),
    (Exact("clashing_extern_declarations"), TypeChecking),
    (Exact("complete_gated_feature_checking"), TypeChecking),
    (Exact("unused_lib_feature_checking"), TypeChecking),
    (Exact("lib_features"), TypeChecking),
    (Exact("stripped_cfg_items"), TypeChecking),
    (Exact("entry_fn"), TypeChecking),
    (Exact("looking_for_entry_point"), TypeChecking),
    (Exact("looking_for_derive_registrar"), TypeChecking),
    (Exact("limits"), TypeChecking),
    // Facts about crates: loaded from dependencies' metadata.
    (Exact("crate_name"), CrateMetadata),
    (Exact("crate_host_hash"), CrateMetadata),
    (Exact("crate_dep_kind"), CrateMetadata),
    (Exact("crates"), CrateMetadata),
    (Exact("postorder_cnums"), CrateMetadata),
    (Exact("used_crates"), CrateMetadata),
    (Exact("used_crate_source"), CrateMetadata),
    (Exact("extern_crate"), CrateMetadata),
    (Exact("extra_filename"), CrateMetadata),
    (Exact("missing_extern_crate_item"), CrateMetadata),
    (Exact("native_libraries"), CrateMetadata),
    (Exact("foreign_modules"), CrateMetadata),
    (Exact("dependency_formats"), CrateMetadata),
    (Exact("defined_lang_items"), CrateMetadata),
    (Exact("missing_lang_items"), CrateMetadata),
    (Exact("expn_that_defined"), CrateMetadata),
    (Exact("debugger_visualizers"), CrateMetadata),
    (Exact("stable_order_of_exportable_impls"), CrateMetadata),
    (Exact("exportable_items"), CrateMetadata),
    (Exact("externally_implementable_items"), CrateMetadata),
    (Prefix("is_private_dep"), CrateMetadata),
    (Prefix("is_compiler_builtins"), CrateMetadata),
    (Prefix("is_profiler_runtime"), CrateMetadata),
    (Prefix("is_no_builtins"), CrateMetadata),
    (Prefix("is_panic_runtime"), CrateMetadata),
    (Exact("required_panic_strategy"), CrateMetadata),
    (Prefix("has_"), CrateMetadata),
    (Exact("allocator_kind"), CrateMetadata),
    (Exact("resolutions"), NameResolution),
    (Exact("source_span"), NameResolution),
    (Exact("output_filenames"), Linking),
    (Exact("panic_in_drop_strategy"), CrateMetadata),
    // Nightly (1.97) names.
    (Exact("typeck_root"), TypeChecking),
    (Exact("deduced_param_attrs"), Monomorphization),
    // Any other LLVM pass or analysis (`-Zself-profile-events=llvm`).
    (CamelCase, LlvmOptimization),
    // Session set-up and tear-down that belongs with the front end.
    (Exact("write_dep_info"), ParsingAndExpansion),
    (Exact("drop_compiler"), Linking),
    (Exact("free_global_ctxt"), Linking),
    (Exact("setup_global_ctxt"), ParsingAndExpansion),
];

/// The phase of one label (and whether a rule knew it).
pub fn phase_of(label: &str) -> (Phase, bool) {
    RULES
        .iter()
        .find(|(rule, _)| rule.matches(label))
        .map_or((Phase::Other, false), |&(_, phase)| (phase, true))
}

/// Self time per phase, over some summary rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PhaseTimes {
    /// By phase, largest first; phases with no time left out.
    pub phases: Vec<PhaseTime>,
    /// Labels no rule knows, with their self time, largest first.
    pub unknown_labels: Vec<(String, u64)>,
    /// All CPU time in the rows, the profiler's overhead included.
    pub total_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseTime {
    pub phase: Phase,
    pub title: &'static str,
    pub self_ns: u64,
}

impl PhaseTimes {
    pub fn of(&self, phase: Phase) -> u64 {
        self.phases
            .iter()
            .find(|p| p.phase == phase)
            .map_or(0, |p| p.self_ns)
    }

    /// LLVM's optimisation and code generation together (not LTO).
    pub fn llvm_ns(&self) -> u64 {
        self.of(Phase::LlvmOptimization) + self.of(Phase::LlvmCodegen)
    }

    /// CPU time of the build itself: the total without the profiler's overhead.
    pub fn build_ns(&self) -> u64 {
        self.total_ns - self.of(Phase::ProfilerOverhead) - self.of(Phase::WaitingForCodegen)
    }
}

/// Classifies summary rows (self time per label) into phases.
pub fn phase_times(rows: &[LabelStats]) -> PhaseTimes {
    let mut by_phase = std::collections::BTreeMap::<Phase, u64>::new();
    let mut unknown = Vec::new();
    let mut total = 0;
    for row in rows {
        let incremental =
            (row.incremental_load_time_ns + row.incremental_hashing_time_ns).min(row.self_time_ns);
        let (phase, known) = phase_of(&row.label);
        *by_phase.entry(phase).or_default() += row.self_time_ns - incremental;
        *by_phase.entry(Phase::Incremental).or_default() += incremental;
        total += row.self_time_ns;
        if !known && row.self_time_ns > 0 {
            unknown.push((row.label.clone(), row.self_time_ns));
        }
    }
    let mut phases: Vec<PhaseTime> = by_phase
        .into_iter()
        .filter(|&(_, ns)| ns > 0)
        .map(|(phase, self_ns)| PhaseTime {
            phase,
            title: phase.title(),
            self_ns,
        })
        .collect();
    phases.sort_by(|a, b| b.self_ns.cmp(&a.self_ns).then(a.phase.cmp(&b.phase)));
    unknown.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    PhaseTimes {
        phases,
        unknown_labels: unknown,
        total_ns: total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_land_in_the_phases_a_rust_user_expects() {
        for (label, phase) in [
            ("self_profile_alloc_query_strings", ProfilerOverhead),
            ("expand_proc_macro", ParsingAndExpansion),
            ("parse_crate", ParsingAndExpansion),
            ("late_resolve_crate", NameResolution),
            ("typeck", TypeChecking),
            ("evaluate_obligation", TraitSolving),
            ("type_op_prove_predicate", TraitSolving),
            ("is_copy_raw", TraitSolving),
            ("resolver_for_lowering_raw", NameResolution),
            ("eval_to_allocation_raw", Mir),
            ("mir_borrowck", BorrowChecking),
            ("mir_built", Mir),
            ("mir_pass_elaborate_drops", Mir),
            ("items_of_instance", Monomorphization),
            ("codegen_module", Monomorphization),
            ("LLVM_passes", WaitingForCodegen),
            ("LLVM_module_optimize", LlvmOptimization),
            ("ModuleToFunctionPassAdaptor", LlvmOptimization),
            ("PassManager<Function>", LlvmOptimization),
            ("InjectTLIMappings", LlvmOptimization),
            ("typeck_root", TypeChecking),
            ("LLVM_module_codegen_emit_obj", LlvmCodegen),
            ("LLVM_thin_lto_import", Lto),
            ("run_linker", Linking),
            ("link_binary", Linking),
            ("metadata_decode_entry_type_of", CrateMetadata),
            ("generate_crate_metadata", CrateMetadata),
            ("incr_comp_encode_dep_graph", Incremental),
            ("codegen_copy_artifacts_from_incr_cache", Incremental),
            ("encode_query_results_for", Incremental),
        ] {
            assert_eq!(phase_of(label), (phase, true), "{label}");
        }
        assert_eq!(phase_of("a_label_from_the_future"), (Other, false));
    }

    #[test]
    fn incremental_work_for_a_query_moves_to_bookkeeping_and_unknowns_are_kept() {
        let row = |label: &str, self_ns, load, hash| LabelStats {
            label: label.into(),
            self_time_ns: self_ns,
            time_ns: self_ns,
            count: 1,
            cache_hits: 0,
            blocked_time_ns: 0,
            incremental_load_time_ns: load,
            incremental_hashing_time_ns: hash,
        };
        let times = phase_times(&[
            row("typeck", 100, 10, 5),
            row("brand_new_query", 7, 0, 0),
            row("self_profile_alloc_query_strings", 20, 0, 0),
        ]);
        assert_eq!(times.of(TypeChecking), 85);
        assert_eq!(times.of(Incremental), 15);
        assert_eq!(times.of(Other), 7);
        assert_eq!(
            times.unknown_labels,
            vec![("brand_new_query".to_string(), 7)]
        );
        assert_eq!(times.total_ns, 127);
        assert_eq!(times.build_ns(), 107);
    }
}
